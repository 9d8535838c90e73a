// Names shared by both directions of optimizer-state conversion (./optimizer.ts torch → Paddle,
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

/** paddle.save's name table (formats/paddle/keys.ts; mapping reads no file formats). */
export const NAME_TABLE_KEY = "StructuredToParameterName@@";

/** A Paddle accumulator: `<parameter>_<kind>_<n>`. */
export const PADDLE_ACCUMULATOR = /^(.+)_(moment1|moment2|moment2_max|beta1_pow_acc|beta2_pow_acc|velocity)_\d+$/;
