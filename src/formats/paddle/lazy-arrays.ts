import type { ByteSink } from "../../io/sink.js";
import type { Tensor } from "../../tensor/tensor.js";
import { streamTensor } from "../../kernels/stream.js";
import { WeightbridgeError } from "../../errors.js";
import { numpyArray, type NumpyArray } from "../../pickle/index.js";
import { numpyDescrFor } from "./numpy-arrays.js";

// Streams big arrays through the pickler without holding them in memory. Each big tensor is
// pickled with a distinct 64 KiB stand-in (views of one shared zero buffer); pickleChunks passes
// large payloads through as their own chunks, so the stand-in is found by identity in the output,
// the 5-byte BINBYTES header just before it is replaced by the real length, and the tensor's bytes
// are streamed in its place. Protocol 4 only: protocol 2 encodes bytes as text, which needs them.

const STAND_IN_BYTES = 64 << 10;
const BINBYTES = 0x42;
const BINBYTES8 = 0x8e;

export class LazyArrays {
  private readonly shared = new ArrayBuffer(STAND_IN_BYTES);
  private readonly standIns = new Map<Uint8Array, Tensor>();

  constructor(
    private readonly stream: boolean,
    private readonly file: string,
  ) {}

  /** An ndarray for the tensor: its bytes, or a stand-in when it is big and streaming is possible. */
  async array(t: Tensor): Promise<NumpyArray> {
    const descr = numpyDescrFor(t);
    if (this.stream && t.data.byteLength >= STAND_IN_BYTES) {
      const standIn = new Uint8Array(this.shared);
      this.standIns.set(standIn, t);
      return numpyArray(descr, t.shape, standIn);
    }
    let bytes: Uint8Array;
    try {
      bytes = await t.data.read();
    } catch (e) {
      if (e instanceof WeightbridgeError) throw e.at({ tensor: t.name });
      throw e;
    }
    return numpyArray(descr, t.shape, bytes);
  }

  /** Writes the pickler's chunks, streaming each stand-in's tensor in its place. */
  async writeTo(sink: ByteSink, chunks: Uint8Array[]): Promise<void> {
    let held: Uint8Array[] = [];
    let replaced = 0;
    for (const chunk of chunks) {
      const tensor = this.standIns.get(chunk);
      if (!tensor) {
        held.push(chunk);
        continue;
      }
      held = this.dropStandInHeader(held, tensor);
      for (const h of held) await sink.write(h);
      held = [];
      await sink.write(lengthHeader(tensor.data.byteLength));
      for await (const part of streamTensor(tensor)) await sink.write(part);
      replaced++;
    }
    for (const h of held) await sink.write(h);
    if (replaced !== this.standIns.size) {
      throw new WeightbridgeError("corrupt", `internal: ${this.standIns.size - replaced} streamed array(s) were not found in the pickler output`, {
        file: this.file,
      });
    }
  }

  /** Removes the `BINBYTES <65536>` that introduced the stand-in (it may straddle held chunks). */
  private dropStandInHeader(held: Uint8Array[], tensor: Tensor): Uint8Array[] {
    const expected = [BINBYTES, 0x00, 0x00, 0x01, 0x00];
    const out = [...held];
    const tail: number[] = [];
    while (tail.length < 5 && out.length > 0) {
      const last = out.pop()!;
      const need = 5 - tail.length;
      if (last.length > need) {
        tail.unshift(...last.subarray(last.length - need));
        out.push(last.subarray(0, last.length - need));
      } else {
        tail.unshift(...last);
      }
    }
    if (tail.length !== 5 || tail.some((b, i) => b !== expected[i])) {
      throw new WeightbridgeError("corrupt", "internal: unexpected pickler framing around a streamed array", { file: this.file, tensor: tensor.name });
    }
    return out;
  }
}

function lengthHeader(length: number): Uint8Array {
  const header = new Uint8Array(length < 2 ** 32 ? 5 : 9);
  const view = new DataView(header.buffer);
  if (length < 2 ** 32) {
    header[0] = BINBYTES;
    view.setUint32(1, length, true);
  } else {
    header[0] = BINBYTES8;
    view.setBigUint64(1, BigInt(length), true);
  }
  return header;
}
