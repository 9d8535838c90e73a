import type { Tensor } from "../../../tensor/tensor.js";
import { registerAll, torchOps, type TorchOp } from "../op.js";
import { pyFloat } from "../python.js";
import { scalarInt64, zeros } from "../weights.js";

// Normalizations: nn.BatchNormNd / nn.InstanceNormNd / nn.LayerNorm when the statistics and
// affine parameters are weights and the input rank is known, the functional form otherwise.

/** ONNX's momentum weighs the running value; torch's the batch value. */
const torchMomentum = (m: number): string => pyFloat(Number((1 - m).toPrecision(12)));

function initializers(op: TorchOp, from: number, to: number): Tensor[] | undefined {
  const out: Tensor[] = [];
  for (let i = from; i <= to; i++) {
    const t = op.initializer(i);
    if (!t || t.shape.length !== 1) return undefined;
    out.push(t);
  }
  return out;
}

const batchNorm = (training: boolean) => (op: TorchOp) => {
  const eps = op.attrFloat("epsilon", 1e-5);
  const momentum = op.attrFloat("momentum", 0.9);
  if (op.version < 9) op.attrInt("spatial", 1) === 1 || op.refuse("spatial=0 is not covered");
  if (training && op.attrInt("training_mode", 0)) op.refuse("training_mode=1 is not covered (the module computes inference)");
  for (let i = 1; i < op.outputCount; i++) if (op.wants(i)) op.refuse(`output ${i + 1} (training statistics) is not covered`);
  const rank = op.rank(0);
  const weights = initializers(op, 1, 4);
  const x = op.input(0);
  const args = `eps=${pyFloat(eps)}, momentum=${torchMomentum(momentum)}`;
  if (weights && rank !== undefined && rank >= 2 && rank <= 5) {
    const [scale, bias, mean, variance] = weights as [Tensor, Tensor, Tensor, Tensor];
    const n = rank === 2 ? 1 : rank - 2;
    const layer = op.layer(`nn.BatchNorm${n}d(${scale.shape[0]}, ${args})`, {
      weight: scale,
      bias,
      running_mean: mean,
      running_var: variance,
      num_batches_tracked: scalarInt64(0, "num_batches_tracked"),
    });
    return op.assign(`${layer}(${x})`, { rank: op.rank(0) });
  }
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => op.input(i));
  op.assign(`F.batch_norm(${x}, ${mean}, ${variance}, ${scale}, ${bias}, False, 0.0, ${pyFloat(eps)})`, { rank });
};
torchOps.register({ domain: "", op: "BatchNormalization", since: 7, until: 13, handler: batchNorm(false) });
torchOps.register({ domain: "", op: "BatchNormalization", since: 14, handler: batchNorm(true) });

registerAll(
  {
    InstanceNormalization: (op) => {
      const eps = op.attrFloat("epsilon", 1e-5);
      const weights = initializers(op, 1, 2);
      const rank = op.rank(0);
      const x = op.input(0);
      if (weights && rank !== undefined && rank >= 3 && rank <= 5) {
        const layer = op.layer(`nn.InstanceNorm${rank - 2}d(${weights[0]!.shape[0]}, eps=${pyFloat(eps)}, affine=True)`, {
          weight: weights[0]!,
          bias: weights[1]!,
        });
        return op.assign(`${layer}(${x})`, { rank: op.rank(0) });
      }
      op.assign(`F.instance_norm(${x}, weight=${op.input(1)}, bias=${op.input(2)}, eps=${pyFloat(eps)})`, { rank });
    },
    LRN: (op) => {
      const args = [op.attrInt("size"), pyFloat(op.attrFloat("alpha", 1e-4)), pyFloat(op.attrFloat("beta", 0.75)), pyFloat(op.attrFloat("bias", 1))];
      op.assign(`F.local_response_norm(${op.input(0)}, ${args.join(", ")})`, { rank: op.rank(0) });
    },
  },
  6,
);

/** LayerNormalization whose Mean and InvStdDev outputs are used: the formula, written out. */
function layerNormWithStatistics(op: TorchOp, axis: number, eps: number): void {
  const x = op.input(0);
  const dims = op.temp("normalized_axes");
  const [mean, centered, inv] = [op.wants(1) ? op.output(1) : op.temp("mean"), op.temp("centered"), op.wants(2) ? op.output(2) : op.temp("inv_std_dev")];
  op.line(`# ${op.node.name} (LayerNormalization with its statistics)`);
  op.line(`${dims} = list(range(${axis < 0 ? `${x}.dim() - ${-axis}` : axis}, ${x}.dim()))`);
  op.line(`${mean} = ${x}.mean(${dims}, keepdim=True)`);
  op.line(`${centered} = ${x} - ${mean}`);
  op.line(`${inv} = torch.rsqrt((${centered} * ${centered}).mean(${dims}, keepdim=True) + ${pyFloat(eps)})`);
  op.line(`${op.output(0)} = ${centered} * ${inv} * ${op.input(1)}${op.has(2) ? ` + ${op.input(2)}` : ""}`);
  for (let i = 0; i < 3; i++) if (op.wants(i)) op.setDtype(i, op.dtype(0), op.rank(0));
}

registerAll(
  {
    LayerNormalization: (op) => {
      const axis = op.attrInt("axis", -1);
      const eps = op.attrFloat("epsilon", 1e-5);
      if (op.attrInt("stash_type", 1) !== 1) op.refuse("stash_type other than float32 is not covered");
      const rank = op.rank(0);
      if (op.wants(1) || op.wants(2)) return layerNormWithStatistics(op, axis, eps);
      const scale = op.initializer(1);
      const bias = op.has(2) ? op.initializer(2) : undefined;
      const normalized = axis < 0 ? -axis : rank !== undefined ? rank - axis : undefined;
      const x = op.input(0);
      if (scale && normalized === scale.shape.length && (bias || !op.has(2)) && (!bias || bias.shape.join() === scale.shape.join())) {
        const shape = scale.shape.length === 1 ? String(scale.shape[0]) : `(${scale.shape.join(", ")})`;
        const layer = op.layer(`nn.LayerNorm(${shape}, eps=${pyFloat(eps)})`, { weight: scale, bias: bias ?? zeros(scale, scale.shape) });
        return op.assign(`${layer}(${x})`, { rank: op.rank(0) });
      }
      const dims = axis < 0 ? `${x}.shape[${axis}:]` : `${x}.shape[${axis}:]`;
      const normed = `F.layer_norm(${x}, ${dims}, eps=${pyFloat(eps)})`;
      op.assign(`${normed} * ${op.input(1)}${op.has(2) ? ` + ${op.input(2)}` : ""}`, { comment: true, rank });
    },
  },
  17,
);
