import { registerAll, torchOps, type TorchOp } from "../op.js";
import { pyList } from "../python.js";

// Shape manipulation. Shapes given as constants become literals; shapes computed at run time
// stay computed (`.tolist()` of the shape tensor), so dynamic dimensions stay dynamic.

/** An int-list input as Python: a literal when constant, else the tensor's values at run time. */
export function intList(op: TorchOp, i: number): string {
  const c = op.constant(i);
  return c ? pyList(c.values.map((v) => String(Math.trunc(v)))) : `${op.input(i)}.tolist()`;
}

const RESHAPE = `def onnx_reshape(x, shape, allowzero=False):
    # ONNX Reshape: 0 copies the input's dimension unless allowzero; -1 is inferred.
    return x.reshape([x.shape[i] if s == 0 and not allowzero else s for i, s in enumerate(shape)])
`;

const reshape = (op: TorchOp) => {
  const allowZero = op.version >= 14 ? op.attrInt("allowzero", 0) : 0;
  const x = op.input(0);
  const c = op.constant(1);
  if (c && (allowZero || !c.values.includes(0))) return op.assign(`${x}.reshape(${pyList(c.values.map(String))})`, { rank: c.values.length });
  if (c) return op.assign(`${x}.reshape(${pyList(c.values.map((v, i) => (v === 0 ? `${x}.shape[${i}]` : String(v))))})`, { rank: c.values.length });
  op.assign(`${op.helper("onnx_reshape", RESHAPE)}(${x}, ${op.input(1)}.tolist()${allowZero ? ", True" : ""})`);
};
torchOps.register({ domain: "", op: "Reshape", since: 5, handler: reshape });

registerAll(
  {
    Flatten: (op) => {
      const x = op.input(0);
      const axis = op.attrInt("axis", 1);
      op.assign(axis === 1 ? `${x}.flatten(1)` : `${x}.reshape(${x}.shape[:${axis}].numel(), -1)`, { rank: 2 });
    },
    Transpose: (op) => {
      const x = op.input(0);
      op.assign(op.hasAttr("perm") ? `${x}.permute(${op.attrInts("perm").join(", ")})` : `${x}.permute(*reversed(range(${x}.dim())))`, { rank: op.rank(0) });
    },
    Shape: (op) => {
      const x = op.input(0);
      const [start, end] = op.version >= 15 ? [op.attrInt("start", 0), op.hasAttr("end") ? op.attrInt("end") : undefined] : [0, undefined];
      const range = start === 0 && end === undefined ? "" : `[${start || ""}:${end ?? ""}]`;
      op.assign(`torch.tensor(${x}.shape${range}, dtype=torch.int64)`, { dtype: "int64", rank: 1 });
    },
    Size: (op) => op.assign(`torch.tensor(${op.input(0)}.numel(), dtype=torch.int64)`, { dtype: "int64", rank: 0 }),
    Concat: (op) => {
      const inputs = op.node.inputs.map((_, i) => op.input(i));
      op.assign(`torch.cat(${pyList(inputs)}, ${op.attrInt("axis")})`, { rank: "same" });
    },
    Expand: (op) => {
      const x = op.input(0);
      op.assign(`torch.broadcast_to(${x}, torch.broadcast_shapes(${x}.shape, ${intList(op, 1)}))`);
    },
    Tile: (op) => op.assign(`${op.input(0)}.repeat(${intList(op, 1)})`, { rank: op.rank(0) }),
    Gather: (op) => {
      const axis = op.attrInt("axis", 0);
      const table = op.initializer(0);
      const indices = op.constant(1);
      const [r0, r1] = [op.rank(0), op.rank(1)];
      const rank = r0 !== undefined && r1 !== undefined ? r0 - 1 + r1 : undefined;
      if (table && table.shape.length === 2 && axis === 0 && /^float/.test(table.dtype) && !indices) {
        const layer = op.layer(`nn.Embedding(${table.shape[0]}, ${table.shape[1]})`, { weight: table });
        return op.assign(`${layer}(${op.input(1)})`, { rank });
      }
      const x = op.input(0);
      if (indices && indices.shape.length === 0) return op.assign(`${x}.select(${axis}, ${indices.values[0]})`, { rank });
      const lead = axis >= 0 ? ":, ".repeat(axis) : "..., ";
      const trail = axis < 0 ? ", :".repeat(-axis - 1) : "";
      op.assign(`${x}[${lead}${op.input(1)}${trail}]`, { rank });
    },
    GatherElements: (op) => {
      const axis = op.attrInt("axis", 0);
      const [x, index] = [op.input(0), op.input(1)];
      op.assign(`torch.gather(${x}, ${axis}, torch.where(${index} < 0, ${index} + ${x}.shape[${axis}], ${index}))`, { rank: op.rank(0) });
    },
    DepthToSpace: (op) => {
      const b = op.attrInt("blocksize");
      const mode = op.attrString("mode", "DCR");
      const x = op.input(0);
      if (mode === "CRD") return op.assign(`F.pixel_shuffle(${x}, ${b})`);
      if (mode !== "DCR") op.refuse(`mode '${mode}' is not covered`);
      const [n, c, h, w] = [`${x}.shape[0]`, `${x}.shape[1]`, `${x}.shape[2]`, `${x}.shape[3]`];
      op.assign(
        `${x}.reshape(${n}, ${b}, ${b}, ${c} // ${b * b}, ${h}, ${w}).permute(0, 3, 4, 1, 5, 2).reshape(${n}, ${c} // ${b * b}, ${h} * ${b}, ${w} * ${b})`,
        { comment: true },
      );
    },
    SpaceToDepth: (op) => {
      const b = op.attrInt("blocksize");
      const x = op.input(0);
      const [n, c, h, w] = [`${x}.shape[0]`, `${x}.shape[1]`, `${x}.shape[2]`, `${x}.shape[3]`];
      op.assign(
        `${x}.reshape(${n}, ${c}, ${h} // ${b}, ${b}, ${w} // ${b}, ${b}).permute(0, 3, 5, 1, 2, 4).reshape(${n}, ${c} * ${b * b}, ${h} // ${b}, ${w} // ${b})`,
        { comment: true },
      );
    },
  },
  1,
);

// Squeeze / Unsqueeze: axes an attribute until opset 12, an input from 13.
const axesOf = (op: TorchOp, fromInput: boolean): number[] | undefined =>
  fromInput ? (op.has(1) ? op.constInts(1, "axes") : undefined) : op.hasAttr("axes") ? op.attrInts("axes") : undefined;

const SQUEEZE = `def onnx_squeeze(x, axes):
    # Squeeze the listed axes (torch 1.13 squeezes one axis per call), from the back.
    for a in sorted((a % x.dim() for a in axes), reverse=True):
        x = x.squeeze(a)
    return x
`;
const UNSQUEEZE = `def onnx_unsqueeze(x, axes):
    # Unsqueeze so that the listed axes (of the output) have size 1.
    rank = x.dim() + len(axes)
    for a in sorted(a % rank for a in axes):
        x = x.unsqueeze(a)
    return x
`;
/** Squeeze/Unsqueeze with axes computed at run time: one helper call. */
function dynamicAxes(op: TorchOp, fromInput: boolean, name: string, code: string): boolean {
  if (!fromInput || !op.has(1) || op.constant(1)) return false;
  op.assign(`${op.helper(name, code)}(${op.input(0)}, ${op.input(1)}.tolist())`);
  return true;
}

const squeeze = (fromInput: boolean) => (op: TorchOp) => {
  if (dynamicAxes(op, fromInput, "onnx_squeeze", SQUEEZE)) return;
  const x = op.input(0);
  const axes = axesOf(op, fromInput);
  if (!axes) return op.assign(`${x}.squeeze()`);
  const rank = op.rank(0);
  // Negative axes first (most negative first), then positive ones from the back: each keeps its meaning.
  const ordered = [...axes.filter((a) => a < 0).sort((a, b) => a - b), ...axes.filter((a) => a >= 0).sort((a, b) => b - a)];
  op.assign(`${x}${ordered.map((a) => `.squeeze(${a})`).join("")}`, { rank: rank === undefined ? undefined : rank - axes.length });
};
const unsqueeze = (fromInput: boolean) => (op: TorchOp) => {
  if (dynamicAxes(op, fromInput, "onnx_unsqueeze", UNSQUEEZE)) return;
  const x = op.input(0);
  let axes = axesOf(op, fromInput) ?? op.refuse("axes are required");
  const rank = op.rank(0);
  if (rank !== undefined) axes = axes.map((a) => (a < 0 ? a + rank + axes.length : a));
  if (axes.some((a) => a < 0) && axes.some((a) => a >= 0)) op.refuse("axes of both signs on an input of unknown rank are not covered");
  const ordered = axes[0]! < 0 ? [...axes].sort((a, b) => b - a) : [...axes].sort((a, b) => a - b);
  op.assign(`${x}${ordered.map((a) => `.unsqueeze(${a})`).join("")}`, { rank: rank === undefined ? undefined : rank + axes.length });
};
torchOps.register({ domain: "", op: "Squeeze", since: 1, until: 12, handler: squeeze(false) });
torchOps.register({ domain: "", op: "Squeeze", since: 13, handler: squeeze(true) });
torchOps.register({ domain: "", op: "Unsqueeze", since: 1, until: 12, handler: unsqueeze(false) });
torchOps.register({ domain: "", op: "Unsqueeze", since: 13, handler: unsqueeze(true) });

// Split: sizes an attribute until 12, an input from 13; num_outputs from 18.
const split = (fromInput: boolean) => (op: TorchOp) => {
  const x = op.input(0);
  const axis = op.attrInt("axis", 0);
  const sizes = fromInput ? (op.has(1) ? intList(op, 1) : undefined) : op.hasAttr("split") ? pyList(op.attrInts("split").map(String)) : undefined;
  const parts = op.version >= 18 && op.hasAttr("num_outputs") ? op.attrInt("num_outputs") : op.outputCount;
  const call = sizes ? `torch.split(${x}, ${sizes}, ${axis})` : `torch.split(${x}, (${x}.shape[${axis}] + ${parts - 1}) // ${parts}, ${axis})`;
  const wanted = Array.from({ length: op.outputCount }, (_, i) => (op.wants(i) ? op.output(i) : "_"));
  op.line(`${wanted.join(", ")}${wanted.length === 1 ? "," : ""} = ${call}`);
  for (let i = 0; i < op.outputCount; i++) if (op.wants(i)) op.setDtype(i, op.dtype(0), op.rank(0));
};
torchOps.register({ domain: "", op: "Split", since: 2, until: 12, handler: split(false) });
torchOps.register({ domain: "", op: "Split", since: 13, handler: split(true) });
