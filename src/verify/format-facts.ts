import type { Framework } from "./reference.js";

/** What a file's format descriptor says (formats/types.ts), handed over so verify need not know format ids. */
export interface FormatFacts {
  /** The framework whose conventions every file of the format follows (Format.conventionsFixed). */
  framework?: Framework;
  /** Its files are graphs onnxruntime runs. */
  runsInOnnxruntime?: boolean;
}
