import type { Tensor } from "../../../tensor/tensor.js";
import type { GraphNode } from "../../ir.js";
import { registerAll, torchOps, type TorchOp } from "../op.js";
import { pyFloat } from "../python.js";
import { reshaped, transposed } from "../weights.js";

// Gemm and MatMul: nn.Linear when the right-hand matrix is a weight (the layer a torch export
// came from), plain matrix products otherwise. Einsum passes its equation through.

torchOps.register({
  domain: "",
  op: "Gemm",
  since: 7,
  handler: (op) => {
    const [alpha, beta] = [op.attrFloat("alpha", 1), op.attrFloat("beta", 1)];
    const [transA, transB] = [op.attrInt("transA", 0), op.attrInt("transB", 0)];
    const w = op.initializer(1);
    const c = op.has(2) ? op.initializer(2) : undefined;
    const n = w ? (transB ? w.shape[0]! : w.shape[1]!) : undefined;
    const biasFits = !op.has(2) || (c !== undefined && beta === 1 && (c.shape.join() === `${n}` || c.shape.join() === `1,${n}`));
    if (w && w.shape.length === 2 && !transA && alpha === 1 && biasFits) {
      const weight = transB ? w : transposed(w);
      const ctor = `nn.Linear(${weight.shape[1]}, ${weight.shape[0]}${c ? "" : ", bias=False"})`;
      const layer = op.layer(ctor, c ? { weight, bias: reshaped(c, [n!]) } : { weight });
      return op.assign(`${layer}(${op.input(0)})`, { rank: 2 });
    }
    const a = transA ? `${op.input(0)}.t()` : op.input(0);
    const b = transB ? `${op.input(1)}.t()` : op.input(1);
    let product = alpha === 1 ? `${a} @ ${b}` : `${pyFloat(alpha)} * (${a} @ ${b})`;
    if (op.has(2)) product += beta === 1 ? ` + ${op.input(2)}` : ` + ${pyFloat(beta)} * ${op.input(2)}`;
    op.assign(product, { comment: true, rank: 2 });
  },
});

/** The Add that only adds a bias of `width` to this MatMul's output (a torch Linear exported as MatMul + Add). */
function biasAdd(op: TorchOp, width: number): { node: GraphNode; tensor: Tensor } | undefined {
  const next = op.soleReader(0);
  if (!next || next.op !== "Add" || next.domain !== "" || Object.keys(next.attributes).length > 0 || next.inputs.length !== 2) return undefined;
  const other = next.inputs.find((name) => name !== op.node.outputs[0]);
  const tensor = other === undefined ? undefined : op.lookupInitializer(other);
  return tensor && tensor.shape.length === 1 && tensor.shape[0] === width && tensor.dtype === op.initializer(1)!.dtype ? { node: next, tensor } : undefined;
}

registerAll(
  {
    MatMul: (op) => {
      const w = op.initializer(1);
      if (w && w.shape.length === 2 && op.dtype(0) !== undefined && /^float/.test(w.dtype)) {
        const bias = biasAdd(op, w.shape[1]!);
        if (bias) op.fuseInto(bias.node);
        const layer = op.layer(
          `nn.Linear(${w.shape[0]}, ${w.shape[1]}${bias ? "" : ", bias=False"})`,
          bias ? { weight: transposed(w), bias: bias.tensor } : { weight: transposed(w) },
        );
        return op.assign(`${layer}(${op.input(0)})`, { rank: op.rank(0) });
      }
      const [ra, rb] = [op.rank(0), op.rank(1)];
      op.assign(`torch.matmul(${op.input(0)}, ${op.input(1)})`, {
        rank: ra !== undefined && rb !== undefined && ra >= 2 && rb >= 2 ? Math.max(ra, rb) : undefined,
      });
    },
  },
  9,
);

registerAll(
  {
    Einsum: (op) => {
      const inputs = op.node.inputs.map((_, i) => op.input(i));
      op.assign(`torch.einsum(${JSON.stringify(op.attrString("equation"))}, ${inputs.join(", ")})`);
    },
  },
  12,
);
