import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { memorySource, type ByteSource } from "../../src/io/source.js";
import { detectFormat, formatById, outputVariantFor } from "../../src/formats/index.js";
import { read } from "../../src/api/open.js";
import { writeBytes } from "../../src/api/write.js";

// Sniffing hands what it found (the variant, the opened zip directory or HDF5 file) to the
// reader, so a file's structure is parsed once; writers get their variant from the output name.

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures");

/** A source over a fixture's bytes that records its reads (and has no readSync, like a Blob). */
function recording(path: string): ByteSource & { reads: Array<[number, number]> } {
  const inner = memorySource(new Uint8Array(readFileSync(resolve(FIXTURES, path))), path.split("/").pop());
  const reads: Array<[number, number]> = [];
  return {
    name: inner.name,
    size: inner.size,
    reads,
    read(at, length) {
      reads.push([at, length]);
      return inner.read(at, length);
    },
    close: () => inner.close(),
  };
}

/** The reads after the probe's first look at the head (which, for these small files, is the whole file). */
function afterHead(s: ReturnType<typeof recording>): Array<[number, number]> {
  expect(s.reads[0]).toEqual([0, Math.min(s.size, 64 << 10)]);
  return s.reads.slice(1);
}

/** How many reads reached the zip end-of-central-directory record at the file's end: one per directory parse. */
const directoryParses = (s: ReturnType<typeof recording>) => afterHead(s).filter(([at, n]) => at + n === s.size).length;

describe("sniff findings", () => {
  it("tell zip from legacy torch.save files and Keras 3 zips from .weights.h5", async () => {
    const variant = async (path: string) => {
      const { format, finding } = await detectFormat(recording(path));
      return `${format.id}:${finding.variant}`;
    };
    expect(await variant("pytorch/state_dict.pt")).toBe("pytorch:zip");
    expect(await variant("pytorch/legacy_state_dict.pt")).toBe("pytorch:legacy");
    expect(await variant("pytorch/torchscript.pt")).toBe("torchscript:zip");
    expect(await variant("keras/tfkeras213.keras")).toBe("keras:zip");
    expect(await variant("keras/keras3.weights.h5")).toBe("keras:h5");
    expect(await variant("keras/tfkeras_model.h5")).toBe("keras-h5:h5");
  });

  it("a zip's directory is parsed once for detecting and reading", async () => {
    for (const path of ["pytorch/state_dict.pt", "pytorch/torchscript.pt", "keras/tfkeras213.keras"]) {
      const source = recording(path);
      const checkpoint = await read(source);
      expect(checkpoint.tensors.length, path).toBeGreaterThan(0);
      expect(directoryParses(source), path).toBe(1);
      await checkpoint.close();
    }
  });

  it("an HDF5 file without positioned sync reads is loaded once, by the sniffer, for both Keras layouts", async () => {
    for (const path of ["keras/keras3.weights.h5", "keras/tfkeras_model.h5"]) {
      const source = recording(path);
      const checkpoint = await read(source);
      expect(checkpoint.tensors.length, path).toBeGreaterThan(0);
      expect(afterHead(source).filter(([at, n]) => at === 0 && n === source.size).length, path).toBe(1);
      await checkpoint.close();
    }
  });

  it("a named format's reader finds its variant itself", async () => {
    const legacy = await read(recording("pytorch/legacy_state_dict.pt"), { format: "pytorch" });
    expect(legacy.tensors.length).toBeGreaterThan(0);
    const zip = await read(recording("keras/tfkeras213.keras"), { format: "keras" });
    expect(zip.meta.config).toBeDefined();
    await legacy.close();
    await zip.close();
  });
});

describe("output variants", () => {
  it("come from the output name, by the format's descriptor", () => {
    const keras = formatById("keras");
    const paddle = formatById("paddle");
    expect(outputVariantFor(keras, "model.KERAS")).toEqual({ variant: "zip" });
    expect(outputVariantFor(keras, "model.weights.h5")).toBeUndefined();
    expect(outputVariantFor(paddle, "run/model.pdopt")).toEqual({ variant: "optimizer", holds: "optimizer" });
    expect(outputVariantFor(paddle, "model.pdparams")).toBeUndefined();
  });

  it("a writer without an output name writes its default variant (Keras 3: .weights.h5, not a zip)", async () => {
    const source = recording("keras/keras3.weights.h5");
    const checkpoint = await read(source);
    const bytes = await writeBytes(checkpoint, "keras");
    expect([...bytes.subarray(0, 4)]).toEqual([0x89, 0x48, 0x44, 0x46]); // \x89HDF
    await checkpoint.close();
  });
});
