import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, test } from "vitest";
import { convert, read, write } from "../../src/index.js";
import type { WeightbridgeError } from "../../src/errors.js";
import { fixture } from "../helpers/fixtures.js";
import { tf } from "../formats/tf/fixtures.js";
import { readRefusal, refusal } from "../helpers/refusal.js";

/**
 * A model folder whose side files are symbolic links: a link may only reach files inside the
 * model's folder (or the folder the naming file really lives in: a Hugging Face cache's blobs/).
 * The "secret" is a copy of the real side file placed outside, so a reader that followed the
 * link would succeed: only the refusal makes the test pass.
 */
const work = mkdtempSync(join(tmpdir(), "wb-symlinks-"));
let counter = 0;
const fresh = () => {
  const dir = join(work, `case${++counter}`);
  mkdirSync(join(dir, "model"), { recursive: true });
  return dir;
};

/** Copies `files` into dir/model, the one named `linked` moved to dir/secret/ and linked back. */
function modelWithLinkOut(files: string[], linked: string): { dir: string; model: string } {
  const dir = fresh();
  const model = join(dir, "model");
  for (const f of files) cpSync(f, join(model, basename(f)), { recursive: true });
  mkdirSync(join(dir, "secret"));
  renameSync(join(model, linked), join(dir, "secret", basename(linked)));
  symlinkSync(join(dir, "secret", basename(linked)), join(model, linked));
  return { dir, model };
}

const expectOutside = (e: WeightbridgeError) => {
  expect(e.code).toBe("corrupt");
  expect(e.message).toMatch(/symbolic link to .*outside the model's folder/);
};

describe("side files that are symbolic links out of the model's folder are refused, never read", () => {
  test("ONNX external data", async () => {
    const onnx = fixture("onnx", "torch_conv_lstm_external.onnx");
    const { model } = modelWithLinkOut([onnx, `${onnx}.data`], "torch_conv_lstm_external.onnx.data");
    expectOutside(await readRefusal(join(model, "torch_conv_lstm_external.onnx")));
  });

  test("a TensorFlow data shard", async () => {
    const ckpt = tf("ckpt-tf1-layers-cnn-adam");
    const { model } = modelWithLinkOut(
      [join(ckpt, "model.ckpt-20000.index"), join(ckpt, "model.ckpt-20000.data-00000-of-00001")],
      "model.ckpt-20000.data-00000-of-00001",
    );
    expectOutside(await readRefusal(join(model, "model.ckpt-20000.index")));
  });

  test("a .pdiparams beside its .pdmodel", async () => {
    const real = fixture("paddle", "real");
    const { model } = modelWithLinkOut([join(real, "inference.pdmodel"), join(real, "inference.pdiparams")], "inference.pdiparams");
    expectOutside(await readRefusal(join(model, "inference.pdmodel")));
  });

  test("a safetensors shard named by an index.json", async () => {
    const dir = fresh();
    const model = join(dir, "model");
    const tensors = (await read(fixture("onnx", "torch_conv_lstm.onnx"))).tensors;
    await write({ tensors, meta: {} }, join(model, "model.safetensors"), { maxShardSize: 500 });
    const index = join(model, "model.safetensors.index.json");
    const shard = (JSON.parse(readFileSync(index, "utf8")) as { weight_map: Record<string, string> }).weight_map[tensors[0]!.name]!;
    mkdirSync(join(dir, "secret"));
    renameSync(join(model, shard), join(dir, "secret", shard));
    symlinkSync(join(dir, "secret", shard), join(model, shard));
    expectOutside(await readRefusal(index));
  });

  test("a link inside the folder is fine, and so is a Hugging Face cache (every file a link into blobs/)", async () => {
    const onnx = fixture("onnx", "torch_conv_lstm_external.onnx");
    const dir = fresh();
    const blobs = join(dir, "blobs");
    const snapshot = join(dir, "snapshots", "abc");
    mkdirSync(blobs);
    mkdirSync(snapshot, { recursive: true });
    cpSync(onnx, join(blobs, "1111"));
    cpSync(`${onnx}.data`, join(blobs, "2222"));
    symlinkSync("../../blobs/1111", join(snapshot, basename(onnx)));
    symlinkSync("../../blobs/2222", join(snapshot, `${basename(onnx)}.data`));
    const c = await read(join(snapshot, basename(onnx)));
    expect(c.tensors.length).toBeGreaterThan(0);
    for (const t of c.tensors) for await (const _ of t.data.chunks(1 << 20));
    await c.close();
    const model = join(dir, "model");
    cpSync(onnx, join(model, basename(onnx)));
    mkdirSync(join(model, "data"));
    cpSync(`${onnx}.data`, join(model, "data", "real.bin"));
    symlinkSync(join(model, "data", "real.bin"), join(model, `${basename(onnx)}.data`));
    const inside = await read(join(model, basename(onnx)));
    for (const t of inside.tensors) for await (const _ of t.data.chunks(1 << 20));
    await inside.close();
  });
});

describe("a TF `checkpoint` state file is followed only inside its folder", () => {
  const ckpt = tf("ckpt-tf1-layers-cnn-adam");
  test.each([["an absolute path outside"], ["a ../ path"]])("%s is not followed", async (kind) => {
    const dir = fresh();
    const model = join(dir, "model");
    const elsewhere = join(dir, "elsewhere");
    cpSync(ckpt, elsewhere, { recursive: true });
    rmSync(join(elsewhere, "checkpoint"));
    const prefix = kind.startsWith("an absolute") ? join(elsewhere, "model.ckpt-20000") : "../elsewhere/model.ckpt-20000";
    writeFileSync(join(model, "checkpoint"), `model_checkpoint_path: "${prefix}"\n`);
    const error = await readRefusal(model);
    expect(error.message).toMatch(/model\.ckpt-20000\.index, is missing/);
  });

  test("an absolute path from the folder's old place finds the same name inside it (a copied folder)", async () => {
    const dir = fresh();
    const model = join(dir, "model");
    cpSync(ckpt, model, { recursive: true });
    writeFileSync(join(model, "checkpoint"), `model_checkpoint_path: "/somewhere/else/model.ckpt-20000"\n`);
    const c = await read(model);
    expect(c.tensors.length).toBeGreaterThan(0);
    await c.close();
  });
});

describe("a SavedModel template whose files are links (a Hugging Face cache layout)", () => {
  const template = tf("savedmodel-conv1d-maxpool-dense-adam");
  /** The template's files as links into blobs/ (relative, as huggingface_hub makes them). */
  function linkedTemplate(dir: string, outside?: string): string {
    const blobs = join(dir, "blobs");
    const snapshot = join(dir, "snapshots", "rev");
    mkdirSync(blobs);
    cpSync(template, snapshot, { recursive: true });
    let n = 0;
    for (const rel of ["saved_model.pb", "keras_metadata.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"]) {
      const blob = join(blobs, String(++n));
      renameSync(join(snapshot, rel), blob);
      symlinkSync(rel === outside ? "/etc/hostname" : blob, join(snapshot, rel));
    }
    return snapshot;
  }

  test("the targets are copied: keras_metadata.pb is in the output, byte for byte", async () => {
    const dir = fresh();
    const linked = linkedTemplate(dir);
    const weights = join(dir, "w.safetensors");
    const source = await read(template);
    await write(source, weights);
    await source.close();
    const out = join(dir, "out");
    await convert(weights, out, { to: "tf-savedmodel", template: linked });
    expect(readFileSync(join(out, "keras_metadata.pb")).equals(readFileSync(join(template, "keras_metadata.pb")))).toBe(true);
    expect(readFileSync(join(out, "saved_model.pb")).equals(readFileSync(join(template, "saved_model.pb")))).toBe(true);
  });

  test("a template file linking outside is refused and nothing is written", async () => {
    const dir = fresh();
    const linked = linkedTemplate(dir, "keras_metadata.pb");
    const weights = join(dir, "w.safetensors");
    const source = await read(template);
    await write(source, weights);
    await source.close();
    const out = join(dir, "out");
    expectOutside(await refusal(convert(weights, out, { to: "tf-savedmodel", template: linked })));
    expect(existsSync(out)).toBe(false);
  });
});
