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

/** torch's mode for an ONNX Pad mode; torch reflects and replicates floats only. */
function torchMode(op: TorchOp): string {
  const mode = op.attrString("mode", "constant");
  const torch = MODES[mode] ?? op.refuse(`mode '${mode}' is not covered`);
  const dtype = op.dtype(0);
  if (torch !== "constant" && !(dtype && /^(float|bfloat)/.test(dtype)))
    op.refuse(`${mode} padding of a ${dtype ?? "tensor of unknown dtype"} is not covered (torch pads floats only)`);
  return torch;
}

function pad(op: TorchOp, pads: number[], value: string, axes?: number[]): void {
  const mode = op.attrString("mode", "constant");
  const torch = torchMode(op);
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
  if (torch !== "constant" && positive.some((a, k) => a < 2 && (pads[k] !== 0 || pads[k + n] !== 0)))
    op.refuse(`${mode} padding of the batch or channel axis is not covered`);
  const trimmed = torch === "constant" ? torchPads : torchPads.slice(0, 2 * (last - Math.max(first, 2)));
  const extra = torch === "constant" ? (value === "0.0" || value === "0" ? "" : `, value=${value}`) : `, mode="${torch}"`;
  op.assign(`F.pad(${x}, ${pyList(trimmed.map(String))}${extra})`, { rank: op.rank(0) ?? (axes ? undefined : n) });
}

torchOps.register({
  domain: "",
  op: "Pad",
  since: 2,
  until: 10,
  handler: (op) => pad(op, op.attrInts("pads"), pyFloat(op.attrFloat("value", 0))),
});
const RUNTIME_PAD = `def onnx_pad(x, pads, mode, value=0.0):
    # ONNX Pad with pads known only at run time: [begin of every axis, end of every axis].
    n = x.dim()
    torch_pads = []
    for axis in range(n - 1, -1, -1):
        torch_pads += [pads[axis], pads[axis + n]]
    if mode == "constant":
        return F.pad(x, torch_pads, value=value)
    if any(p != 0 for p in torch_pads[2 * (n - 2):]):
        raise ValueError("ONNX Pad: " + mode + " padding of the batch or channel axis has no torch equivalent")
    return F.pad(x, torch_pads[:2 * (n - 2)], mode=mode)
`;

torchOps.register({
  domain: "",
  op: "Pad",
  since: 11,
  handler: (op) => {
    const literal = op.has(2) ? op.scalarOr(2) : "0";
    // A value computed at run time (or held as a buffer) is a one-element tensor: F.pad takes its number.
    const value = literal.startsWith("self.") || (/^[a-z_]/.test(literal) && !literal.startsWith("math")) ? `${literal}.item()` : literal;
    if (op.constant(1) === undefined && !op.has(3)) {
      const helper = op.helper("onnx_pad", RUNTIME_PAD);
      return op.assign(`${helper}(${op.input(0)}, ${op.input(1)}.tolist(), "${torchMode(op)}", ${value})`, { rank: op.rank(0), comment: true });
    }
    const pads = op.constInts(1, "pads");
    pad(op, pads, value, op.has(3) ? op.constInts(3, "axes") : undefined);
  },
});
