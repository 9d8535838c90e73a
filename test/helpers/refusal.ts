import { expect } from "vitest";
import { read } from "../../src/index.js";
import { WeightbridgeError } from "../../src/errors.js";

/** The WeightbridgeError `work` ends in; the test fails when it succeeds or throws anything else. */
export async function refusal(work: Promise<unknown>): Promise<WeightbridgeError> {
  try {
    await work;
  } catch (e) {
    expect(e).toBeInstanceOf(WeightbridgeError);
    return e as WeightbridgeError;
  }
  throw new Error("was not refused");
}

/**
 * The WeightbridgeError reading `path` ends in: opening it and, unless `opening` only, reading
 * every tensor's bytes (a refusal of either counts).
 */
export function readRefusal(path: string, { opening = false } = {}): Promise<WeightbridgeError> {
  return refusal(
    (async () => {
      const checkpoint = await read(path);
      try {
        if (!opening) for (const t of checkpoint.tensors) for await (const _ of t.data.chunks(1 << 20));
      } finally {
        await checkpoint.close();
      }
    })(),
  );
}
