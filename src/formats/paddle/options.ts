import type { WriteOptions } from "../types.js";

/** `formatOptions.paddle`: what the .pdparams/.pdopt writer can be asked for. */
export interface PaddleOptions {
  /** Pickle protocol: 4 (the default), or 2 or 3 for old Paddle loaders (big arrays are then sliced). */
  pickleProtocol?: number;
}

/** What the .pdparams writer is told: WriteOptions with its own group. */
export type PaddleWriteOptions = WriteOptions<{ paddle?: PaddleOptions }>;
