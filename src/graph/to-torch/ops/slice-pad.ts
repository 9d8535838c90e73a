import { torchOps, type TorchOp } from "../op.js";
import { pyFloat, pyList } from "../python.js";
import { intList } from "./shape.js";

// Slice (attributes until opset 9, inputs from 10) and Pad (attributes until 10, inputs from 11).
// Constant positive-step slices are written as Python indexing; the rest goes through one helper
// that applies ONNX's clamping rules at run time.

const SLICE = `def onnx_slice(x, starts, ends, axes, steps):
    # ONNX Slice: starts/ends clamp to the axis (to [-1, size - 1] stepping backwards).
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[axis]
        start = start + size if start < 0 else start
        end = end + size if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), size), min(max(end, 0), size)
        else:
            start, end = min(max(start, -1), size - 1), min(max(end, -1), size - 1)
        index = torch.arange(start, end, step, device=x.device)
        x = x.index_select(axis % x.dim(), index)
    return x
`;

const BIG = 2 ** 31;

function bound(v: number, isEnd: boolean): string {
  if (isEnd ? v >= BIG : v <= -BIG || v === 0) return "";
  return String(v);
}

function slice(op: TorchOp, starts: number[], ends: number[], axes: number[], steps: number[]): void {
  const x = op.input(0);
  if (steps.every((s) => s > 0) && (axes.every((a) => a >= 0) || axes.every((a) => a < 0))) {
    const negative = axes[0] !== undefined && axes[0] < 0;
    const span = negative ? -Math.min(...axes) : Math.max(...axes, -1) + 1;
    const parts = Array<string>(span).fill(":");
    axes.forEach((a, k) => {
      const step = steps[k] === 1 ? "" : `:${steps[k]}`;
      parts[negative ? span + a : a] = `${bound(starts[k]!, false)}:${bound(ends[k]!, true)}${step}`;
    });
    return op.assign(`${x}[${negative ? "..., " : ""}${parts.join(", ")}]`, { rank: op.rank(0) });
  }
  op.assign(
    `${op.helper("onnx_slice", SLICE)}(${x}, ${pyList(starts.map(String))}, ${pyList(ends.map(String))}, ${pyList(axes.map(String))}, ${pyList(steps.map(String))})`,
    { rank: op.rank(0) },
  );
}

torchOps.register({
  domain: "",
  op: "Slice",
  since: 1,
  until: 9,
  handler: (op) => {
    const [starts, ends] = [op.attrInts("starts"), op.attrInts("ends")];
    slice(
      op,
      starts,
      ends,
      op.attrInts(
        "axes",
        starts.map((_, i) => i),
      ),
      starts.map(() => 1),
    );
  },
});
torchOps.register({
  domain: "",
  op: "Slice",
  since: 10,
  handler: (op) => {
    const constant = [1, 2, 3, 4].every((i) => !op.has(i) || op.constant(i));
    if (constant) {
      const [starts, ends] = [op.constInts(1, "starts"), op.constInts(2, "ends")];
      const axes = op.has(3) ? op.constInts(3, "axes") : starts.map((_, i) => i);
      return slice(op, starts, ends, axes, op.has(4) ? op.constInts(4, "steps") : starts.map(() => 1));
    }
    const x = op.input(0);
    const list = (i: number, fallback: string) => (op.has(i) ? intList(op, i) : fallback);
    const starts = intList(op, 1);
    const axes = list(3, `list(range(len(${starts})))`);
    const steps = list(4, `[1] * len(${starts})`);
    op.assign(`${op.helper("onnx_slice", SLICE)}(${x}, ${starts}, ${intList(op, 2)}, ${axes}, ${steps})`, { rank: op.rank(0) });
  },
});

const MODES: Record<string, string> = { constant: "constant", reflect: "reflect", edge: "replicate" };

function pad(op: TorchOp, pads: number[], value: string, axes?: number[]): void {
  const mode = op.attrString("mode", "constant");
  const torchMode = MODES[mode] ?? op.refuse(`mode '${mode}' is not covered`);
  const x = op.input(0);
  const n = pads.length / 2;
  const rank = op.rank(0);
  const dims = axes ?? Array.from({ length: n }, (_, i) => i);
  if (axes && dims.some((a) => a < 0) && rank === undefined) op.refuse("negative axes on an input of unknown rank are not covered");
  const positive = dims.map((a) => (a < 0 ? a + rank! : a));
  const last = rank ?? (axes ? Math.max(...positive) + 1 : n);
  // torch pads from the last axis backwards: one (begin, end) pair per axis from the last to the first padded.
  const first = Math.min(...positive);
  const torchPads: number[] = [];
  for (let axis = last - 1; axis >= first; axis--) {
    const k = positive.indexOf(axis);
    torchPads.push(k < 0 ? 0 : pads[k]!, k < 0 ? 0 : pads[k + n]!);
  }
  if (torchMode !== "constant" && positive.some((a, k) => a < 2 && (pads[k] !== 0 || pads[k + n] !== 0)))
    op.refuse(`${mode} padding of the batch or channel axis is not covered`);
  const trimmed = torchMode === "constant" ? torchPads : torchPads.slice(0, 2 * (last - Math.max(first, 2)));
  const extra = torchMode === "constant" ? (value === "0.0" || value === "0" ? "" : `, value=${value}`) : `, mode="${torchMode}"`;
  op.assign(`F.pad(${x}, ${pyList(trimmed.map(String))}${extra})`, { rank: op.rank(0) ?? (axes ? undefined : n) });
}

torchOps.register({
  domain: "",
  op: "Pad",
  since: 2,
  until: 10,
  handler: (op) => pad(op, op.attrInts("pads"), pyFloat(op.attrFloat("value", 0))),
});
torchOps.register({
  domain: "",
  op: "Pad",
  since: 11,
  handler: (op) => {
    const pads = op.constInts(1, "pads");
    const value = op.has(2) ? op.scalarOr(2) : "0";
    if (value.startsWith("self.") || (/^[a-z_]/.test(value) && !value.startsWith("math"))) op.refuse("a padding value computed at run time is not covered");
    pad(op, pads, value, op.has(3) ? op.constInts(3, "axes") : undefined);
  },
});
