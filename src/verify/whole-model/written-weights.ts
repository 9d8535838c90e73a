import type { Hash } from "node:crypto";
import type { Tensor, TensorData } from "../../tensor/tensor.js";
import type { Graph } from "../../graph/ir.js";
import { Disagreement } from "../disagreement.js";

// The reference layers compute with the source's weights; reading a big source a second time
// (an .h5 through libhdf5) cost more than the whole write. Instead the writer hashes each source
// tensor it copies as it streams it, and the reference reads that tensor from the written file,
// which is refused as a disagreement when those bytes do not hash the same: the same proof that
// the graph's weights are the source's, with one read of the source.

/** A variable specifier, as for onnxruntime: the web page's bundler must not resolve node:crypto (it never checks). */
const CRYPTO = "node:crypto";

type NewHash = () => Hash;

/** SHA-256 digests of source tensors, taken as a writer streams them. */
export class StreamDigests {
  private readonly digests = new Map<Tensor, string | null>();
  private constructor(private readonly newHash: NewHash) {}

  static async create(): Promise<StreamDigests> {
    const crypto = (await import(CRYPTO)) as typeof import("node:crypto");
    return new StreamDigests(() => crypto.createHash("sha256"));
  }

  /** `tensor` with data that hashes its bytes as they are read whole; the writer writes this one. */
  watched(tensor: Tensor): Tensor {
    return { ...tensor, data: new HashingData(tensor.data, this.newHash, (digest) => this.record(tensor, digest)) };
  }

  /** The digest of the bytes every complete read of `tensor` gave; undefined if none, or if two reads differed. */
  digestOf(tensor: Tensor): string | undefined {
    return this.digests.get(tensor) ?? undefined;
  }

  private record(tensor: Tensor, digest: string): void {
    const seen = this.digests.get(tensor);
    this.digests.set(tensor, seen === undefined || seen === digest ? digest : null);
  }
}

/** Passes the inner data's bytes through, hashing each complete pass. */
class HashingData implements TensorData {
  constructor(
    private readonly inner: TensorData,
    private readonly newHash: NewHash,
    private readonly done: (digest: string) => void,
  ) {
    if (inner.streamChunks) this.streamChunks = (maxBytes) => this.hashed(inner.streamChunks!(maxBytes));
  }
  readonly streamChunks?: (maxBytes: number) => AsyncIterable<Uint8Array>;
  get byteLength(): number {
    return this.inner.byteLength;
  }
  prefetch(): void {
    this.inner.prefetch?.();
  }
  async read(): Promise<Uint8Array> {
    const bytes = await this.inner.read();
    if (bytes.byteLength === this.byteLength) this.done(this.newHash().update(bytes).digest("hex"));
    return bytes;
  }
  chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    return this.hashed(this.inner.chunks(maxBytes));
  }
  private async *hashed(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    const hash = this.newHash();
    let total = 0;
    for await (const chunk of chunks) {
      // Hashed before it is handed on: a streamed chunk is only valid until the next is asked for.
      hash.update(chunk);
      total += chunk.byteLength;
      yield chunk;
    }
    if (total === this.byteLength) this.done(hash.digest("hex"));
  }
}

/**
 * The source's tensors for the reference layers: each one the writer streamed and hashed, and
 * which the written graph holds under its name with its dtype and shape, reads the written
 * file's bytes instead (a Disagreement when they hash otherwise); the others read the source.
 */
export async function referenceTensors(source: readonly Tensor[], written: Graph, digests: StreamDigests): Promise<Tensor[]> {
  const crypto = (await import(CRYPTO)) as typeof import("node:crypto");
  const initializers = new Map(written.initializers.map((t) => [t.name, t]));
  return source.map((t) => {
    const digest = digests.digestOf(t);
    const w = initializers.get(t.name);
    if (!digest || !w || w.dtype !== t.dtype || w.shape.join() !== t.shape.join() || w.data.byteLength !== t.data.byteLength) return t;
    const check = (hash: Hash) => {
      if (hash.digest("hex") !== digest)
        throw new Disagreement(
          `the written initializer ${w.name} is not the source's ${t.name}: their bytes differ (SHA-256 ${digest.slice(0, 12)}… in the source)`,
        );
    };
    return { ...t, data: new CheckedData(w.data, () => crypto.createHash("sha256"), check) };
  });
}

/** The written file's bytes, refused (by `check`) unless each complete read hashes as the source's did. */
class CheckedData implements TensorData {
  constructor(
    private readonly inner: TensorData,
    private readonly newHash: NewHash,
    private readonly check: (hash: Hash) => void,
  ) {}
  get byteLength(): number {
    return this.inner.byteLength;
  }
  async read(): Promise<Uint8Array> {
    const bytes = await this.inner.read();
    this.check(this.newHash().update(bytes));
    return bytes;
  }
  async readInto(target: Uint8Array): Promise<void> {
    if (this.inner.readInto) await this.inner.readInto(target);
    else target.set(await this.inner.read());
    this.check(this.newHash().update(target));
  }
  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    const hash = this.newHash();
    const held: Uint8Array[] = [];
    // Nothing is handed on before the whole tensor hashes right: the caller never computes with other bytes.
    for await (const chunk of this.inner.chunks(maxBytes)) {
      hash.update(chunk);
      held.push(chunk);
    }
    this.check(hash);
    yield* held;
  }
}
