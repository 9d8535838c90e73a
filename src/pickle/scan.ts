/** Lists the globals a pickle references, flagging those that could only serve to run code. */
import { unpickleDetailed, type GlobalRef } from "./unpickle.js";

export interface PickleScan {
  /** Every GLOBAL / STACK_GLOBAL / INST, in file order. */
  globals: GlobalRef[];
  /** The subset whose status is "dangerous". */
  dangerous: GlobalRef[];
  /** Globals outside the known-constructor table that become stubs (e.g. `__main__.Net`). */
  unknown: GlobalRef[];
}

/**
 * Interprets the pickle without refusing anything (nothing is ever executed either way) and
 * reports its globals. Throws WeightbridgeError only if the bytes are not a readable pickle.
 */
export function scanPickle(bytes: Uint8Array, options: { name?: string; start?: number } = {}): PickleScan {
  const { globals } = unpickleDetailed(bytes, { ...options, refuseDangerous: false });
  return {
    globals,
    dangerous: globals.filter((g) => g.status === "dangerous"),
    unknown: globals.filter((g) => g.status === "unknown"),
  };
}
