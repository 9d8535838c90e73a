import type { Tensor } from "../tensor/tensor.js";
import { runRuleSets, type CompiledRuleSet } from "./engine.js";
import type { Tracked } from "./tracked.js";

// What both directions of optimizer-state conversion share (./optimizer.ts torch → Paddle,
// ./optimizer-from-paddle.ts Paddle → torch). Facts: shared/reference/paddle.md §3.

/** torch per-parameter state → Paddle accumulator suffix. */
export const TORCH_TO_PADDLE_ACCUMULATOR: Record<string, string> = {
  exp_avg: "moment1",
  exp_avg_sq: "moment2",
  max_exp_avg_sq: "moment2_max",
  momentum_buffer: "velocity",
};

/** torch state_dict entries that are buffers, not parameters: the optimizer has no state for them. */
export const BUFFER = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

/** paddle.save's name table (paddle keys.ts in the Paddle format; mapping reads no file formats). */
export const NAME_TABLE_KEY = "StructuredToParameterName@@";

/** A Paddle accumulator: `<parameter>_<kind>_<n>`. */
export const PADDLE_ACCUMULATOR = /^(.+)_(moment1|moment2|moment2_max|beta1_pow_acc|beta2_pow_acc|velocity)_\d+$/;

/**
 * One kind of optimizer state mapped through the model's rules as if each state tensor were its
 * parameter, so a transposed Linear weight gets transposed moments. `stateOf` gives the state
 * tensor standing in for a parameter (and checks that it fits). Returns, per parameter name, the
 * mapped item carrying the state; aliases (Paddle's RNN cell names) are one parameter, whose first
 * name carries it.
 */
export function mapLikeParameters(
  params: Tracked[],
  stateOf: (param: Tensor) => Tensor | undefined,
  ruleSets: readonly CompiledRuleSet[],
): Map<string, Tracked> {
  const byParam = new Map<string, Tracked>();
  for (const { param, out } of mapStates(params, stateOf, ruleSets)) if (param !== undefined && !byParam.has(param)) byParam.set(param, out);
  return byParam;
}

/**
 * Like mapLikeParameters, keyed by the target parameter each mapped state stands in for: a source
 * parameter the rules split (Keras' one LSTM bias → torch's bias_ih and bias_hh) or combine (q/k/v
 * kernels → in_proj_weight) gets state for every output whose sources are all state tensors.
 */
export function mapLikeTargets(params: Tracked[], stateOf: (param: Tensor) => Tensor | undefined, ruleSets: readonly CompiledRuleSet[]): Map<string, Tracked> {
  const byTarget = new Map<string, Tracked>();
  for (const { out, fromState } of mapStates(params, stateOf, ruleSets)) if (fromState) byTarget.set(out.tensor.name, out);
  return byTarget;
}

function mapStates(params: Tracked[], stateOf: (param: Tensor) => Tensor | undefined, ruleSets: readonly CompiledRuleSet[]) {
  const owner = new Map<string, string>();
  const items = params.map((i): Tracked => {
    const t = stateOf(i.tensor);
    if (!t) return i;
    owner.set(t.name, i.tensor.name);
    return { ...i, sources: [t.name], sourceDtype: t.dtype, tensor: { ...i.tensor, dtype: t.dtype, data: t.data, role: "optimizer-state" } };
  });
  return runRuleSets(items, ruleSets).items.map((out) => ({
    out,
    param: out.sources.length === 1 ? owner.get(out.sources[0]!) : undefined,
    fromState: out.sources.length > 0 && out.sources.every((s) => owner.has(s)),
  }));
}
