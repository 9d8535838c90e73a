import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { read } from "../../../src/index.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { ByteWriter } from "../../../src/util/byte-writer.js";
import { runCli } from "../../helpers/cli.js";

const REAL = join(__dirname, "../../../fixtures/gguf/real/llama-2-tiny-random.gguf");

/** A GGUF v3 with one metadata string and one tensor, its fields given by the test. */
function gguf(o: { keyLength?: number; dims?: bigint[]; type?: number; offset?: bigint; data?: number } = {}): Uint8Array {
  const w = new ByteWriter().bytes(new TextEncoder().encode("GGUF")).u32(3).u64(1).u64(1);
  w.u64(o.keyLength ?? 4)
    .bytes(new TextEncoder().encode("name"))
    .u32(8)
    .u64(2)
    .bytes(new TextEncoder().encode("ok"));
  const dims = o.dims ?? [4n, 2n];
  w.u64(1).bytes(new TextEncoder().encode("t")).u32(dims.length);
  for (const d of dims) w.bytes(new Uint8Array(new BigUint64Array([d]).buffer));
  w.u32(o.type ?? 0).bytes(new Uint8Array(new BigUint64Array([o.offset ?? 0n]).buffer));
  w.fill(0, 32 - (w.length % 32));
  w.fill(0, o.data ?? 32);
  return w.result();
}

async function failure(bytes: Uint8Array): Promise<WeightbridgeError> {
  const error = await read(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeightbridgeError);
  return error as WeightbridgeError;
}

describe("GGUF bad input: one clear error, nothing of the declared size allocated", () => {
  it("a well-formed file reads (the baseline the cases below break)", async () => {
    const checkpoint = await read(gguf());
    expect(checkpoint.tensors.map((t) => [t.name, t.shape])).toEqual([["t", [2, 4]]]);
  });

  it("version 2 reads like 3 (same layout); version 1 and big-endian files are refused by name", async () => {
    const v2 = gguf();
    v2[4] = 2;
    expect((await read(v2)).tensors).toHaveLength(1);
    const v1 = gguf();
    v1[4] = 1;
    expect((await failure(v1)).message).toMatch(/GGUF version 1 .*reads versions 2 and 3/);
    const bigEndian = gguf();
    bigEndian.set([0, 0, 0, 3], 4);
    expect((await failure(bigEndian)).message).toMatch(/big-endian GGUF/);
  });

  it("a truncated header", async () => {
    const e = await failure(readFileSync(REAL).subarray(0, 20));
    expect(e.code).toBe("truncated");
    const cut = await failure(readFileSync(REAL).subarray(0, 5000));
    expect(cut.code).toBe("truncated");
  });

  it("a tensor offset past the end of the file", async () => {
    const e = await failure(gguf({ offset: 1n << 40n }));
    expect(e.code).toBe("corrupt");
    expect(e.message).toMatch(/data offset 1099511627776 is past the end/);
    expect(e.location.tensor).toBe("t");
    const data = await failure(gguf({ offset: 32n * 100n }));
    expect(data.message).toMatch(/past the end/);
  });

  it("an unknown tensor type id", async () => {
    const e = await failure(gguf({ type: 77 }));
    expect(e.code).toBe("unsupported");
    expect(e.message).toMatch(/unknown ggml tensor type 77/);
  });

  it("a 2^60 element count", async () => {
    const e = await failure(gguf({ dims: [1n << 30n, 1n << 30n] }));
    expect(e.code).toBe("corrupt");
    const huge = await failure(gguf({ dims: [1n << 60n] }));
    expect(huge.message).toMatch(/more elements than the \d+-byte file can hold/);
  });

  it("a string length past the end", async () => {
    const e = await failure(gguf({ keyLength: 2 ** 40 }));
    expect(e.code).toBe("truncated");
    expect(e.message).toMatch(/declares 1099511627776 bytes but only \d+ remain/);
  });

  it("a block type whose rows are not whole blocks", async () => {
    const e = await failure(gguf({ type: 8, dims: [40n, 1n] }));
    expect(e.message).toMatch(/not whole Q8_0 blocks of 32/);
  });

  it("the CLI prints one line and exits 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-gguf-bad-"));
    const file = join(dir, "bad.gguf");
    writeFileSync(file, gguf({ dims: [1n << 60n] }));
    const result = runCli(["inspect", file]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^weightbridge: error: .*bad\.gguf.*tensor 't'.*more elements than/);
  });
});
