import type { ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";
import { OutOfBounds, hasTfliteIdentifier, notTflite } from "./flatbuffer.js";
import { parseModel, type TfliteModel } from "./model.js";

/** FlatBuffers address with signed 32-bit offsets: the structure itself is under 2 GiB even when the file is not. */
const MAX_FLATBUFFER = 2 ** 31 - 1;
const FIRST_WINDOW = 16 << 20;

/**
 * Parses a .tflite file's FlatBuffer. A file over 2 GB keeps its buffers after the FlatBuffer,
 * whose length is not written anywhere, so it is read in growing windows from byte 0 until the
 * walk stays inside; a walk leaving the whole file is a truncated or damaged file.
 */
export async function loadModel(source: ByteSource): Promise<TfliteModel> {
  const file = source.name;
  if (source.size < 8) {
    throw new WeightbridgeError("truncated", `${source.size} bytes is too short for a TFLite model (a FlatBuffer root offset and 'TFL3')`, { file });
  }
  let window = Math.min(source.size, FIRST_WINDOW, MAX_FLATBUFFER);
  for (;;) {
    // A fresh buffer: the accessors' typed-array views need the file's offsets to be the buffer's.
    const bytes = new Uint8Array(window);
    bytes.set(await source.read(0, window));
    if (!hasTfliteIdentifier(bytes)) throw notTflite(file, bytes);
    try {
      return parseModel(bytes);
    } catch (e) {
      const limit = Math.min(source.size, MAX_FLATBUFFER);
      if (e instanceof OutOfBounds && window < limit) {
        window = Math.min(limit, window * 4);
        continue;
      }
      if (e instanceof OutOfBounds) {
        const past = limit < source.size ? `past the 2 GiB a FlatBuffer can address` : `past the end of the ${source.size}-byte file`;
        throw new WeightbridgeError("truncated", `the TFLite FlatBuffer points ${past} (a truncated or damaged file)`, { file, offset: e.offset });
      }
      if (e instanceof RangeError) throw new WeightbridgeError("corrupt", `the TFLite FlatBuffer is damaged (${e.message})`, { file });
      throw e;
    }
  }
}
