import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { read } from "../../src/index.js";
import { WeightbridgeError } from "../../src/errors.js";
import { fileSource, resolveInside } from "../../src/io/source.js";
import { MemorySink } from "../../src/io/sink.js";
import { ZipWriter } from "../../src/io/zip-write.js";
import { absurdTensorPickle } from "./hostile-pickles.js";
import { refusal } from "../helpers/refusal.js";

const work = mkdtempSync(join(tmpdir(), "wb-paths-"));
const model = join(work, "models", "m");
mkdirSync(model, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ESCAPES = ["../x", "a/../../x", "/etc/passwd", "..\\x", "a\\..\\..\\x", "", ".", "a/.."];

describe("paths written inside model files stay inside the model's folder", () => {
  test.each(ESCAPES)("resolveInside refuses %j", (path) => {
    expect(() => resolveInside(model, path, "m.onnx")).toThrow(WeightbridgeError);
  });

  test("resolveInside keeps plain relative names", () => {
    expect(resolveInside(model, "weights.bin", "m.onnx")).toBe(join(model, "weights.bin"));
    expect(resolveInside(model, "sub/./w.bin", "m.onnx")).toBe(join(model, "sub", "w.bin"));
  });

  test("a file source's siblings cannot leave its folder, even when the target exists", async () => {
    writeFileSync(join(work, "models", "secret.bin"), "secret");
    writeFileSync(join(model, "m.onnx"), "x");
    const source = await fileSource(join(model, "m.onnx"));
    try {
      for (const path of ["../secret.bin", "sub/../../secret.bin", "..\\secret.bin", join(work, "models", "secret.bin")]) {
        expect((await refusal(source.sibling!(path))).code).toBe("corrupt");
      }
    } finally {
      await source.close();
    }
  });

  test("a shard index naming a shard outside its folder is refused", async () => {
    writeFileSync(join(work, "models", "outside.safetensors"), "x");
    const index = join(model, "model.safetensors.index.json");
    writeFileSync(index, JSON.stringify({ weight_map: { w: "../outside.safetensors" } }));
    expect((await refusal(read(index))).code).toBe("corrupt");
  });

  test("zip entry names are only looked up inside the archive, never opened as files", async () => {
    // A storage key that names a real file beside the archive: a reader that followed entry
    // names onto the file system would find it; ours must say the storage is not in the archive.
    writeFileSync(join(work, "models", "0"), new Uint8Array(16));
    const sink = new MemorySink();
    const zip = new ZipWriter(sink);
    const pkl = absurdTensorPickle([4], [1], 4, "../../../0");
    await zip.add("archive/data.pkl", pkl.byteLength, [pkl]);
    await zip.add("../../escape", 1, [new Uint8Array(1)]);
    await zip.add("/etc/passwd", 1, [new Uint8Array(1)]);
    await zip.add("archive/version", 2, [new TextEncoder().encode("3\n")]);
    await zip.finish();
    const path = join(model, "evil.pt");
    writeFileSync(path, sink.bytes());
    const error = await refusal(read(path));
    expect(error.code).toBe("corrupt");
    expect(error.message).toMatch(/storage .*(is missing|is not in the archive)/);
  });
});
