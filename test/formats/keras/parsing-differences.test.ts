import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { read } from "../../../src/index.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { fileSource } from "../../../src/io/source.js";
import { MemorySink } from "../../../src/io/sink.js";
import { openZip } from "../../../src/io/zip-read.js";
import { ZipWriter } from "../../../src/io/zip-write.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { fixture } from "../../helpers/fixtures.js";
import { readRefusal } from "../../helpers/refusal.js";

// Files where weightbridge would read other data than Keras: refused instead of exit 0.

const work = mkdtempSync(join(tmpdir(), "wb-keras-diff-"));

describe(".keras archives", () => {
  it("two model.weights.h5 members (zipfile reads the last, others the first) are refused", async () => {
    const source = await fileSource(fixture("keras", "tfkeras213.keras"));
    const zip = await openZip(source);
    const sink = new MemorySink();
    const out = new ZipWriter(sink);
    let weights: Uint8Array | undefined;
    for (const entry of zip.entries) {
      const bytes = await zip.read(entry);
      if (entry.name === "model.weights.h5") weights = bytes;
      await out.add(entry.name, bytes.byteLength, [bytes]);
    }
    // A second member of the same name: zeros of the same size (Keras would load these).
    await out.add("model.weights.h5", weights!.byteLength, [new Uint8Array(weights!.byteLength)]);
    await out.finish();
    await source.close();
    const path = join(work, "twice.keras");
    writeFileSync(path, sink.bytes());
    const error = await readRefusal(path);
    expect(error.message, error.message).toMatch(/two members named model\.weights\.h5/);
  });
});

describe.skipIf(!hasPythonModules("h5py", "numpy"))("legacy Keras .h5 built with h5py", () => {
  const build = (name: string, body: string) => {
    const path = join(work, name);
    runPython(
      `import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["keras_version"] = b"2.11.0"
    f.attrs["backend"] = b"tensorflow"
    mw = f.create_group("model_weights")
    mw.attrs["layer_names"] = [b"dense"]
    g = mw.create_group("dense").create_group("dense")
${body}`,
      [path],
    );
    return path;
  };

  it("a virtual dataset (data mapped from elsewhere, fill values when not found) is refused", async () => {
    const path = build(
      "vds.h5",
      `    f.create_dataset("src", data=np.arange(6, dtype="f4").reshape(2, 3))
    layout = h5py.VirtualLayout(shape=(2, 3), dtype="f4")
    layout[:] = h5py.VirtualSource(".", "src", shape=(2, 3))
    g.create_virtual_dataset("kernel:0", layout, fillvalue=0)
    mw["dense"].attrs["weight_names"] = [b"dense/kernel:0"]`,
    );
    const error = await readRefusal(path);
    expect(error.code).toBe("unsupported");
    expect(error.message).toMatch(/virtual dataset/);
  });

  it("a layer holding weights without a weight_names attribute is refused, as Keras refuses it", async () => {
    const path = build("no-names.h5", `    g.create_dataset("kernel:0", data=np.ones((2, 3), dtype="f4"))`);
    const error = await readRefusal(path);
    expect(error.code).toBe("corrupt");
    expect(error.message).toMatch(/holds weights but no weight_names attribute/);
  });
});
