import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { read } from "../../../src/api/open.js";
import { write } from "../../../src/api/write.js";
import { fileSource } from "../../../src/io/source.js";
import { DTYPES, byteLengthOf } from "../../../src/tensor/dtype.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import { elementReader, elementWriter } from "../../../src/kernels/elements.js";
import { runCli } from "../../helpers/cli.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { tf } from "./fixtures.js";

const READER = readFileSync(join(import.meta.dirname, "bundle_reader.py"), "utf8");
const fresh = () => mkdtempSync(join(tmpdir(), "wb-tf-"));

interface Independent {
  num_shards: number;
  tensors: Record<string, { dtype: number; shape: number[]; crc_ok: boolean | null; short: boolean; values?: number[] }>;
}
const independent = (prefix: string): Independent => JSON.parse(runPython(READER, [prefix])) as Independent;

describe("TF1-style checkpoint output (no template)", () => {
  it("is byte for byte the checkpoint tf.train.Saver wrote, for the same tensors", async () => {
    const dir = fresh();
    expect(runCli(["convert", tf("ckpt-tf1-layers-cnn-adam"), join(dir, "m.index")]).code).toBe(0);
    expect(readFileSync(join(dir, "m.index")).equals(readFileSync(tf("ckpt-tf1-layers-cnn-adam/model.ckpt-20000.index")))).toBe(true);
    expect(readFileSync(join(dir, "m.data-00000-of-00001")).equals(readFileSync(tf("ckpt-tf1-layers-cnn-adam/model.ckpt-20000.data-00000-of-00001")))).toBe(
      true,
    );
  });

  it("round-trips every dtype TensorFlow has (0-d and empty too); the rest are refused clearly", async () => {
    for (const dtype of DTYPES) {
      const dir = fresh();
      const tensors = [[], [0], [3, 2]].map((shape, i) => {
        const bytes = new Uint8Array(byteLengthOf(dtype, shape));
        for (let b = 0; b < bytes.length; b++) bytes[b] = (b * 37 + i * 11 + 5) & (dtype === "bool" ? 1 : 0x7f);
        return makeTensor(`layer${i}/kernel`, dtype, shape, bytesData(bytes));
      });
      const checkpoint: Checkpoint = { tensors, meta: {} };
      const out = join(dir, "c.index");
      try {
        await write(checkpoint, out);
      } catch (e) {
        expect((e as Error).message).toMatch(new RegExp(dtype));
        expect(existsSync(out)).toBe(false);
        continue;
      }
      const back = await read(out);
      expect(back.format).toBe("tf-checkpoint");
      expect(back.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(tensors.map((t) => [t.name, t.dtype, t.shape]));
      for (let i = 0; i < tensors.length; i++) expect(await back.tensors[i]!.data.read()).toEqualBytes(await tensors[i]!.data.read());
      await back.close();
    }
  });
});

/** The checkpoint read from `path` with every float tensor's values replaced by 0.5 * v + 1. */
async function reweighted(path: string): Promise<Checkpoint> {
  const source = await read(path);
  const tensors = [];
  for (const t of source.tensors) {
    if (t.dtype !== "float32") {
      tensors.push(makeTensor(t.name, t.dtype, t.shape, bytesData(await t.data.read()), t));
      continue;
    }
    const bytes = new Uint8Array(await t.data.read());
    const get = elementReader("float32", bytes);
    const set = elementWriter("float32", bytes);
    for (let i = 0; i < bytes.length / 4; i++) set(i, 0.5 * get(i) + 1);
    tensors.push(makeTensor(t.name, t.dtype, t.shape, bytesData(bytes), t));
  }
  await source.close();
  return { tensors, meta: {} };
}

describe.skipIf(!hasPythonModules("json"))("re-weighting a template, checked by an independent reader", () => {
  it("SavedModel: saved_model.pb, keras_metadata.pb the template's; variables hold the new values with valid crc32c", async () => {
    const template = tf("savedmodel-lstm-dense-adam-k26");
    const dir = fresh();
    const input = join(dir, "new.safetensors");
    await write(await reweighted(template), input);
    const out = join(dir, "out");
    const result = runCli(["convert", input, `${out}/`, "--template", template]);
    expect(result.code, result.stderr).toBe(0);
    for (const f of ["saved_model.pb", "keras_metadata.pb"]) expect(readFileSync(join(out, f)).equals(readFileSync(join(template, f)))).toBe(true);
    expect(readdirSync(out).sort()).toEqual(["keras_metadata.pb", "saved_model.pb", "variables"]);
    const mine = independent(join(out, "variables", "variables"));
    const theirs = independent(join(template, "variables", "variables"));
    expect(Object.keys(mine.tensors)).toEqual(Object.keys(theirs.tensors));
    for (const [key, t] of Object.entries(mine.tensors)) {
      expect(t.crc_ok === true || t.crc_ok === null, key).toBe(true);
      expect([t.dtype, t.shape]).toEqual([theirs.tensors[key]!.dtype, theirs.tensors[key]!.shape]);
    }
    const kernel = "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE";
    const expected = theirs.tensors[kernel]!.values!.map((v) => Math.fround(0.5 * v + 1));
    expect(mine.tensors[kernel]!.values).toEqual(expected);
    // The object graph (a string tensor) is copied: the result still names its variables.
    const back = await read(out);
    expect(back.tensors.find((t) => t.name === "dense_15/kernel")).toBeDefined();
    await back.close();
  });

  it("SavedModel with assets and fingerprint.pb: assets copied, fingerprint dropped", async () => {
    const template = tf("savedmodel-tf2-half-plus-two");
    const dir = fresh();
    const input = join(dir, "new.safetensors");
    await write(await reweighted(template), input);
    const out = join(dir, "out");
    expect(runCli(["convert", input, `${out}/`, "--template", template]).code).toBe(0);
    expect(readFileSync(join(out, "assets", "foo.txt")).equals(readFileSync(join(template, "assets", "foo.txt")))).toBe(true);
    expect(existsSync(join(out, "fingerprint.pb"))).toBe(false);
    const mine = independent(join(out, "variables", "variables"));
    expect(mine.tensors["a/.ATTRIBUTES/VARIABLE_VALUE"]!.values).toEqual([Math.fround(0.5 * 0.5 + 1)]);
  });

  it("checkpoint template: same keys, new values; a shape that differs is template-mismatch and writes nothing", async () => {
    const template = tf("ckpt-tf1-estimator-dnn-adagrad-sharded/model.ckpt-3000.index");
    const dir = fresh();
    const input = join(dir, "new.safetensors");
    const checkpoint = await reweighted(template);
    await write(checkpoint, input);
    const out = join(dir, "re.index");
    expect(runCli(["convert", input, out, "--template", template]).code).toBe(0);
    const mine = independent(join(dir, "re"));
    const theirs = independent(tf("ckpt-tf1-estimator-dnn-adagrad-sharded/model.ckpt-3000"));
    expect(Object.keys(mine.tensors)).toEqual(Object.keys(theirs.tensors));
    expect(mine.tensors["dnn/logits/bias"]!.values).toEqual(theirs.tensors["dnn/logits/bias"]!.values!.map((v) => Math.fround(0.5 * v + 1)));
    expect(Object.values(mine.tensors).every((t) => t.crc_ok)).toBe(true);

    // The writer checks shapes itself (the CLI's mapping step reports such a tensor before it).
    const bad: Checkpoint = { tensors: [makeTensor("dnn/logits/bias", "float32", [2], bytesData(new Uint8Array(8)))], meta: {} };
    const templateCheckpoint = await read(template);
    const templateSource = await fileSource(template);
    await expect(write(bad, join(dir, "bad.index"), { template: templateCheckpoint, templateSource })).rejects.toThrow(/float32\[2\].*float32\[1\]/);
    await templateCheckpoint.close();
    await templateSource.close();
    expect(existsSync(join(dir, "bad.index"))).toBe(false);
    expect(existsSync(join(dir, "bad.data-00000-of-00001"))).toBe(false);
  });
});

describe("SavedModel folder output", () => {
  it("a failure leaves neither OUT nor its temporary folder; without --template it is a usage error", async () => {
    const template = tf("savedmodel-lstm-dense-adam-k26");
    const dir = fresh();
    const bad: Checkpoint = { tensors: [makeTensor("dense_17/bias", "float32", [3], bytesData(new Uint8Array(12)))], meta: {} };
    const templateCheckpoint = await read(template);
    const templateSource = await fileSource(join(template, "saved_model.pb"));
    await expect(write(bad, join(dir, "out/"), { template: templateCheckpoint, templateSource })).rejects.toThrow(/template-mismatch|float32\[3\]/);
    await templateCheckpoint.close();
    await templateSource.close();
    expect(readdirSync(dir)).toEqual([]);
    await expect(write(bad, join(dir, "out/"))).rejects.toThrow(/needs --template/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("damaged bundles: one line, exit 1, no output", () => {
  const damaged = (damage: (dir: string) => void) => {
    const dir = fresh();
    cpSync(tf("ckpt-tf1-layers-cnn-adam"), dir, { recursive: true });
    damage(dir);
    const out = join(dir, "out.safetensors");
    const result = runCli(["convert", join(dir, "model.ckpt-20000.index"), out]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    return result.stderr;
  };

  it("truncated .index", () => {
    expect(damaged((d) => truncateSync(join(d, "model.ckpt-20000.index"), 500))).toMatch(/magic|truncated/);
  });
  it("missing data shard", () => {
    const stderr = damaged((d) => unlinkSync(join(d, "model.ckpt-20000.data-00000-of-00001")));
    expect(stderr).toMatch(/data shard model\.ckpt-20000\.data-00000-of-00001 is missing/);
  });
  it("short shard", () => {
    expect(damaged((d) => truncateSync(join(d, "model.ckpt-20000.data-00000-of-00001"), 1000))).toMatch(/needs bytes .* which is 1000 bytes long/);
  });
  it("wrong crc", () => {
    const stderr = damaged((d) => {
      const path = join(d, "model.ckpt-20000.data-00000-of-00001");
      const bytes = readFileSync(path);
      bytes[30000] ^= 0x40;
      writeFileSync(path, bytes);
    });
    expect(stderr).toMatch(/tensor '[^']+': .*crc32c mismatch/);
  });
});
