import type { DiffResult } from "../api/diff.js";

function shape(s: number[]): string {
  return `[${s.join(", ")}]`;
}

/** The lines `diff` prints: one per difference, then the summary line. */
export function diffLines(result: DiffResult): string[] {
  const lines: string[] = [];
  for (const t of result.tensors) {
    const name = t.sourceA ? `${t.name} (A: ${t.sourceA})` : t.name;
    if (t.status === "shape") lines.push(`shape   ${name}: ${shape(t.shapeA)} vs ${shape(t.shapeB)}`);
    else if (t.status === "dtype") lines.push(`dtype   ${name}: ${t.dtypeA} vs ${t.dtypeB}`);
    else if (t.status === "values") {
      lines.push(`values  ${name}: ${t.differing} element(s) differ, first at ${t.firstIndex}, max abs ${t.maxAbs}, max rel ${t.maxRel}`);
    }
  }
  for (const n of result.onlyInA) lines.push(`only A  ${n}`);
  for (const n of result.onlyInB) lines.push(`only B  ${n}`);
  for (const c of result.causes ?? []) lines.push(`why     ${c}`);
  const how = result.mode === "bit-exact" ? "bit-exact" : `atol ${result.atol}, rtol ${result.rtol}`;
  const differing = result.tensors.filter((t) => t.status !== "equal").length;
  lines.push(
    result.equal
      ? `equal: ${result.compared} tensors (${how})`
      : `different: ${differing} of ${result.compared} compared tensors differ, ${result.onlyInA.length} only in A, ${result.onlyInB.length} only in B (${how})`,
  );
  return lines;
}
