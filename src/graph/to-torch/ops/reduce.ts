import { torchOps, type TorchOp } from "../op.js";
import { pyList } from "../python.js";

// Reductions (axes an attribute, then an input: ReduceSum from opset 13, the others from 18),
// ArgMax/ArgMin, CumSum and TopK.

type Reduce = (x: string, dims: string, keep: string) => string;

const REDUCTIONS: Record<string, Reduce> = {
  ReduceSum: (x, d, k) => `torch.sum(${x}, ${d}, keepdim=${k})`,
  ReduceMean: (x, d, k) => `torch.mean(${x}, ${d}, keepdim=${k})`,
  ReduceMax: (x, d, k) => `torch.amax(${x}, ${d}, keepdim=${k})`,
  ReduceMin: (x, d, k) => `torch.amin(${x}, ${d}, keepdim=${k})`,
  ReduceProd: (x, d, k) => `onnx_prod(${x}, ${d}, ${k})`,
  ReduceL1: (x, d, k) => `torch.sum(torch.abs(${x}), ${d}, keepdim=${k})`,
  ReduceL2: (x, d, k) => `torch.sqrt(torch.sum(${x} * ${x}, ${d}, keepdim=${k}))`,
  ReduceSumSquare: (x, d, k) => `torch.sum(${x} * ${x}, ${d}, keepdim=${k})`,
  ReduceLogSum: (x, d, k) => `torch.log(torch.sum(${x}, ${d}, keepdim=${k}))`,
  ReduceLogSumExp: (x, d, k) => `torch.logsumexp(${x}, ${d}, keepdim=${k})`,
};

const PROD = `def onnx_prod(x, dims, keepdim):
    # torch.prod reduces one axis at a time.
    for d in sorted((d % x.dim() for d in dims), reverse=True):
        x = torch.prod(x, d, keepdim=keepdim)
    return x
`;

const REDUCE_DIMS = `def onnx_reduce_dims(x, axes):
    # ONNX reduces every axis when the axes list is empty.
    return axes if len(axes) > 0 else list(range(x.dim()))
`;

const reduce = (name: string, fromInput: boolean) => (op: TorchOp) => {
  const keep = op.attrInt("keepdims", 1) ? "True" : "False";
  const noop = fromInput ? op.attrInt("noop_with_empty_axes", 0) : 0;
  const x = op.input(0);
  if (fromInput && op.has(1) && !op.constant(1)) {
    if (name === "ReduceProd") op.helper("onnx_prod", PROD);
    const axes = op.temp("axes");
    op.line(`${axes} = ${op.input(1)}.tolist()`);
    const reduced = REDUCTIONS[name]!(x, `${op.helper("onnx_reduce_dims", REDUCE_DIMS)}(${x}, ${axes})`, keep);
    return op.assign(noop ? `${x} if len(${axes}) == 0 else ${reduced}` : reduced);
  }
  const axes = fromInput ? (op.has(1) ? op.constInts(1, "axes") : []) : op.attrInts("axes", []);
  if (axes.length === 0 && noop) return op.assign(x);
  const dims = axes.length > 0 ? pyList(axes.map(String)) : `list(range(${x}.dim()))`;
  if (name === "ReduceProd") op.helper("onnx_prod", PROD);
  const rank = op.rank(0);
  op.assign(REDUCTIONS[name]!(x, dims, keep), { rank: keep === "True" ? rank : axes.length > 0 && rank !== undefined ? rank - axes.length : undefined });
};

for (const name of Object.keys(REDUCTIONS)) {
  const inputFrom = name === "ReduceSum" ? 13 : 18;
  torchOps.register({ domain: "", op: name, since: 1, until: inputFrom - 1, handler: reduce(name, false) });
  torchOps.register({ domain: "", op: name, since: inputFrom, handler: reduce(name, true) });
}

const arg = (fn: string) => (op: TorchOp) => {
  const axis = op.attrInt("axis", 0);
  const keep = op.attrInt("keepdims", 1) ? "True" : "False";
  const last = op.version >= 12 ? op.attrInt("select_last_index", 0) : 0;
  const x = op.input(0);
  const call = last ? `${x}.shape[${axis}] - 1 - torch.${fn}(${x}.flip(${axis}), ${axis}, keepdim=${keep})` : `torch.${fn}(${x}, ${axis}, keepdim=${keep})`;
  op.assign(call, { dtype: "int64" });
};
torchOps.register({ domain: "", op: "ArgMax", since: 1, handler: arg("argmax") });
torchOps.register({ domain: "", op: "ArgMin", since: 1, handler: arg("argmin") });

torchOps.register({
  domain: "",
  op: "CumSum",
  since: 11,
  handler: (op) => {
    const axis = op.constant(1) ? String(op.constInts(1, "axis")[0]) : `int(${op.input(1)}.item())`;
    const [exclusive, reverse] = [op.attrInt("exclusive", 0), op.attrInt("reverse", 0)];
    let x = op.input(0);
    if (reverse) x = `${x}.flip(${axis})`;
    let sum = `torch.cumsum(${x}, ${axis})`;
    if (exclusive) sum = `(${sum} - ${x})`;
    if (reverse) sum = `${sum}.flip(${axis})`;
    op.assign(sum);
  },
});

torchOps.register({
  domain: "",
  op: "TopK",
  since: 10,
  handler: (op) => {
    const axis = op.attrInt("axis", -1);
    const largest = op.version >= 11 ? op.attrInt("largest", 1) : 1;
    const sorted = op.version >= 11 ? op.attrInt("sorted", 1) : 1;
    if (!sorted) op.refuse("sorted=0 is not covered (the order would be unspecified)");
    const k = op.constant(1) ? String(op.constInts(1, "k")[0]) : `int(${op.input(1)}.item())`;
    const [values, indices] = [op.wants(0) ? op.output(0) : "_", op.wants(1) ? op.output(1) : "_"];
    op.line(`${values}, ${indices} = torch.topk(${op.input(0)}, ${k}, ${axis}, largest=${largest ? "True" : "False"})`);
    if (op.wants(0)) op.setDtype(0, op.dtype(0), op.rank(0));
    if (op.wants(1)) op.setDtype(1, "int64", op.rank(0));
  },
});
