import type { ByteSink } from "../../io/sink.js";
import { WeightbridgeError } from "../../errors.js";

/** Small writes are gathered into pieces of this size before they reach the browser's stream or Blob. */
const PIECE = 4 << 20;

/** Gathers writes into PIECE-sized copies and hands each full piece to `flush`. */
class Gatherer {
  private buffer = new Uint8Array(PIECE);
  private used = 0;
  constructor(private readonly flush: (piece: Uint8Array) => Promise<void>) {}

  async add(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.byteLength > PIECE) await this.drain();
    if (bytes.byteLength >= PIECE) await this.flush(bytes);
    else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.byteLength;
    }
  }

  async drain(): Promise<void> {
    if (this.used === 0) return;
    const piece = this.buffer.subarray(0, this.used);
    this.buffer = new Uint8Array(PIECE);
    this.used = 0;
    await this.flush(piece);
  }
}

function sinkOver(name: string, flush: (piece: Uint8Array) => Promise<void>, close: () => Promise<void>, discard: () => Promise<void>): ByteSink {
  const gather = new Gatherer(flush);
  let state: "open" | "committed" | "aborted" = "open";
  const sink: ByteSink = {
    name,
    position: 0,
    async write(bytes) {
      if (state !== "open") throw new WeightbridgeError("io", "write after the output was closed", { file: name });
      await gather.add(bytes);
      (sink as { position: number }).position += bytes.byteLength;
    },
    async commit() {
      if (state !== "open") return;
      await gather.drain();
      await close();
      state = "committed";
    },
    async abort() {
      if (state !== "open") return;
      state = "aborted";
      await discard();
    },
  };
  return sink;
}

/**
 * Writes through the File System Access API: the browser keeps the bytes in its own swap file
 * until close(), so the output never piles up in the page's memory.
 */
export async function writableSink(handle: FileSystemFileHandle, name: string, onAbort?: () => Promise<void>): Promise<ByteSink> {
  const writable = await handle.createWritable();
  return sinkOver(
    name,
    (piece) => writable.write(piece as Uint8Array<ArrayBuffer>),
    () => writable.close(),
    async () => {
      await writable.abort().catch(() => {});
      await onAbort?.().catch(() => {});
    },
  );
}

/** Collects the output as a Blob (the download fallback): the browser may keep large Blobs on disk, but it may not. */
export function blobSink(name: string, done: (blob: Blob) => void): ByteSink {
  const parts: Blob[] = [];
  return sinkOver(
    name,
    async (piece) => {
      parts.push(new Blob([piece as Uint8Array<ArrayBuffer>]));
    },
    async () => done(new Blob(parts)),
    async () => {
      parts.length = 0;
    },
  );
}
