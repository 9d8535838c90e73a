/** Special top-level keys of paddle.save state-dict pickles (framework/io_utils.py). */
export const NAME_TABLE_KEY = "StructuredToParameterName@@";
export const BIG_PARAM_INFO_KEY = "UnpackBigParamInfor@@";
/** Slices of a split array are `<key>@@.<i>`. */
export const SLICE_SEPARATOR = "@@.";
/** torch BatchNorm counters a conversion from torch keeps (mapping/batch-counters.ts): name → count. */
export const BATCH_COUNTERS_KEY = "num_batches_tracked@@";
