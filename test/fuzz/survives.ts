import { expect } from "vitest";
import { WeightbridgeError } from "../../src/errors.js";

/**
 * Reading a mutated file must end in a checkpoint whose tensors all read, or in a one-line
 * WeightbridgeError; anything else is thrown with `detail` (which case it was).
 */
export async function survives(
  read: () => Promise<{ tensors: Array<{ data: { read(): Promise<Uint8Array> } }> }>,
  detail: string,
): Promise<"read" | "refused"> {
  try {
    const checkpoint = await read();
    for (const t of checkpoint.tensors) await t.data.read();
    return "read";
  } catch (e) {
    if (!(e instanceof WeightbridgeError)) throw new Error(`${detail}: ${String(e)}`);
    expect(e.message).not.toContain("\n");
    return "refused";
  }
}
