import { registerAll, torchOps, type TorchOp } from "../op.js";
import { pyFloat } from "../python.js";

// Index-driven ops: scatters, GatherND, OneHot, NonZero, Trilu. ONNX allows negative indices
// (counted from the end) where torch's scatter/gather do not: they are wrapped first.

const wrapped = (x: string, index: string, axis: number) => `torch.where(${index} < 0, ${index} + ${x}.shape[${axis}], ${index})`;

const REDUCE: Record<string, string> = { add: "sum", mul: "prod", max: "amax", min: "amin" };

const scatterElements = (op: TorchOp) => {
  const axis = op.attrInt("axis", 0);
  const reduction = op.version >= 16 ? op.attrString("reduction", "none") : "none";
  const [x, index, updates] = [op.input(0), op.input(1), op.input(2)];
  if (reduction === "none") return op.assign(`torch.scatter(${x}, ${axis}, ${wrapped(x, index, axis)}, ${updates})`, { rank: op.rank(0) });
  const reduce = REDUCE[reduction] ?? op.refuse(`reduction '${reduction}' is not covered`);
  op.assign(`torch.scatter_reduce(${x}, ${axis}, ${wrapped(x, index, axis)}, ${updates}, "${reduce}")`, { rank: op.rank(0) });
};
torchOps.register({ domain: "", op: "ScatterElements", since: 11, handler: scatterElements });
torchOps.register({ domain: "", op: "Scatter", since: 9, until: 10, handler: scatterElements });

const SCATTER_ND = `def onnx_scatter_nd(x, indices, updates, accumulate=False):
    # ONNX ScatterND: each index tuple in the last axis of indices picks a slice of x to replace (or add to).
    return x.index_put(tuple(indices.unbind(-1)), updates, accumulate=accumulate)
`;

registerAll(
  {
    GatherND: (op) => {
      if (op.version >= 12 && op.attrInt("batch_dims", 0) !== 0) op.refuse("batch_dims other than 0 is not covered");
      op.assign(`${op.input(0)}[tuple(${op.input(1)}.unbind(-1))]`, { comment: true });
    },
    ScatterND: (op) => {
      const reduction = op.version >= 16 ? op.attrString("reduction", "none") : "none";
      if (reduction !== "none" && reduction !== "add") op.refuse(`reduction '${reduction}' is not covered`);
      const accumulate = reduction === "add" ? ", True" : "";
      op.assign(`${op.helper("onnx_scatter_nd", SCATTER_ND)}(${op.input(0)}, ${op.input(1)}, ${op.input(2)}${accumulate})`, { rank: op.rank(0) });
    },
  },
  11,
);

registerAll(
  {
    OneHot: (op) => {
      const axis = op.attrInt("axis", -1);
      const [indices, values] = [op.input(0), op.input(2)];
      const depth = op.constant(1) ? String(Math.trunc(op.constant(1)!.values[0]!)) : `int(${op.input(1)}.item())`;
      const index = `torch.where(${indices} < 0, ${indices} + ${depth}, ${indices}).to(torch.int64)`;
      const hot = op.temp("one_hot");
      op.line(`${hot} = torch.movedim(${index}.unsqueeze(-1) == torch.arange(${depth}), -1, ${axis})  # ${op.node.name} (OneHot)`);
      op.assign(`torch.where(${hot}, ${values}[1], ${values}[0])`, { dtype: op.dtype(2) });
    },
    NonZero: (op) => op.assign(`torch.stack(torch.nonzero(${op.input(0)}, as_tuple=True))`, { dtype: "int64", rank: 2 }),
  },
  11,
);
torchOps.register({
  domain: "",
  op: "NonZero",
  since: 9,
  until: 10,
  handler: (op) => op.assign(`torch.stack(torch.nonzero(${op.input(0)}, as_tuple=True))`, { dtype: "int64", rank: 2 }),
});

registerAll(
  {
    Trilu: (op) => {
      const upper = op.attrInt("upper", 1);
      const k = op.has(1) ? (op.constant(1) ? String(op.constInts(1, "k")[0]) : `int(${op.input(1)}.item())`) : "0";
      op.assign(`torch.${upper ? "triu" : "tril"}(${op.input(0)}, ${k})`, { rank: op.rank(0) });
    },
  },
  14,
);

registerAll(
  {
    MeanVarianceNormalization: (op) => {
      const axes = op.attrInts("axes", [0, 2, 3]).join(", ");
      const x = op.input(0);
      const centered = op.temp("centered");
      op.line(`${centered} = ${x} - ${x}.mean([${axes}], keepdim=True)  # ${op.node.name} (MeanVarianceNormalization)`);
      op.assign(`${centered} / torch.sqrt((${centered} * ${centered}).mean([${axes}], keepdim=True) + ${pyFloat(1e-9)})`, { rank: op.rank(0) });
    },
  },
  9,
);
