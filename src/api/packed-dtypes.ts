import { WeightbridgeError } from "../errors.js";
import type { KnownFormat } from "../formats/index.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import { isPacked } from "../tensor/dtype.js";

// int4/uint4 (ONNX's packed 4-bit weights of QDQ models) exist only where a format has a 4-bit
// type; elsewhere a tensor of them would have to be widened, which changes what the file says.

/** The tensors of a packed 4-bit dtype that `format` cannot hold (none for ONNX). */
export function unwritablePacked(checkpoint: Checkpoint, format: KnownFormat): string[] {
  if (format.packed4Bit) return [];
  return checkpoint.tensors.filter((t) => isPacked(t.dtype)).map((t) => t.name);
}

/** Refuses a write of packed 4-bit tensors to a format without a 4-bit type, naming the first. */
export function refuseUnwritablePacked(checkpoint: Checkpoint, format: KnownFormat, file: string): void {
  const names = unwritablePacked(checkpoint, format);
  if (names.length === 0) return;
  const first = checkpoint.tensors.find((t) => t.name === names[0])!;
  throw new WeightbridgeError(
    "unsupported",
    `is ${first.dtype} (4-bit, two values per byte)${names.length > 1 ? `, as are ${names.length - 1} more tensor(s),` : ""} and ${format.id} has no 4-bit type: ` +
      "convert it to ONNX (which keeps it bit-exact), dequantize it in the source framework first, or pass --allow-drop to leave such tensors out",
    { tensor: first.name, file },
  );
}
