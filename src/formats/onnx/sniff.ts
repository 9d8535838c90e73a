import { isWeightbridgeError } from "../../errors.js";
import { WIRE_LEN, WIRE_VARINT, walkFields } from "../../protobuf/wire.js";

/** ModelProto field numbers and their wire types. */
const MODEL_FIELDS = new Map<number, number>([
  [1, WIRE_VARINT],
  [2, WIRE_LEN],
  [3, WIRE_LEN],
  [4, WIRE_LEN],
  [5, WIRE_VARINT],
  [6, WIRE_LEN],
  [7, WIRE_LEN],
  [8, WIRE_LEN],
  [14, WIRE_LEN],
  [20, WIRE_LEN],
  [25, WIRE_LEN],
  [26, WIRE_LEN],
]);

/**
 * ONNX has no magic number: the head must parse as ModelProto fields (right numbers, right
 * wire types) with a plausible ir_version, and hold a graph unless the head ends first.
 */
export function looksLikeOnnx(head: Uint8Array, size: number): boolean {
  let irVersion: number | undefined;
  let graph = false;
  let fields = 0;
  try {
    for (const f of walkFields(head)) {
      if (MODEL_FIELDS.get(f.field) !== f.wireType) return false;
      if (f.field === 1) irVersion = f.varint;
      if (f.field === 7) graph = true;
      fields++;
    }
  } catch (e) {
    // The head stops mid-field: fine when the file goes on.
    if (!isWeightbridgeError(e) || e.code !== "truncated" || head.byteLength >= size) return false;
    graph = true;
  }
  return fields > 0 && irVersion !== undefined && irVersion >= 1 && irVersion <= 64 && graph;
}
