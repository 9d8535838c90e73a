/** Special top-level keys of paddle.save state-dict pickles (framework/io_utils.py). */
export const NAME_TABLE_KEY = "StructuredToParameterName@@";
export const BIG_PARAM_INFO_KEY = "UnpackBigParamInfor@@";
/** Slices of a split array are `<key>@@.<i>`. */
export const SLICE_SEPARATOR = "@@.";
export { BATCH_COUNTERS_KEY } from "../../tensor/checkpoint.js";
