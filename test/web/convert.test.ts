import { readdirSync, readFileSync } from "node:fs";
import { unzipSync } from "fflate";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";
import { scratchDir, useWebPage, writeScratch, webPageTestable, type WebPage } from "./helpers/web.js";
import * as ort from "onnxruntime-node";
import { writeBytes } from "../../src/api/write.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { sequential } from "../graph/keras-onnx-harness.js";
import { decodeModel } from "../../src/formats/onnx/schema.js";

const TORCH = fixture("pytorch", "real", "three_layer_model.pt");
const KERAS = fixture("keras", "real", "KERAS_3layer_weights.h5");
const GGUF = fixture("gguf", "real", "llama-2-tiny-random.gguf");

/** Every file of a folder, by name, as bytes. */
function filesOf(dir: string): Record<string, Buffer> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name))]),
  );
}

/** The CLI's conversion of `input` to `name` in a scratch folder (flags as given); returns its path. */
function cliConvert(input: string, name: string, flags: string[] = []): string {
  const out = join(scratchDir(), name);
  const result = runCli(["convert", input, out, "-q", ...flags]);
  if (result.code !== 0) throw new Error(`convert failed: ${result.stderr}`);
  return out;
}

/** The file's shared page with these models in its list, the last one shown. */
async function loaded(web: { shared(): Promise<WebPage> }, ...paths: string[]): Promise<WebPage> {
  const page = await web.shared();
  for (const path of paths) await page.showFile(path);
  return page;
}

/** The one file a conversion saved through the picker stub, as bytes. */
async function savedFile(page: WebPage, saved: string[]): Promise<Buffer> {
  expect(saved).toHaveLength(1);
  return page.readSaved(saved[0]);
}

describe.skipIf(!webPageTestable())("web page: converting, diffing and verifying in Chromium", () => {
  const web = useWebPage();

  it("turns a Keras model.save .h5 into the CLI's runnable ONNX graph", async () => {
    const dir = scratchDir();
    const config = sequential("mlp", [6], [["Dense", { units: 4, activation: "relu" }]]);
    const values = (n: number) => new Uint8Array(Float32Array.from({ length: n }, (_, i) => Math.sin(i + n)).buffer);
    const tensors = [
      makeTensor("mlp_0_dense/kernel:0", "float32", [6, 4], bytesData(values(24))),
      makeTensor("mlp_0_dense/bias:0", "float32", [4], bytesData(values(4))),
    ];
    const h5 = writeScratch(dir, "mlp.h5", await writeBytes({ tensors, meta: { model_config: config, keras_version: "2.15.0" } }, "keras-h5"));
    const page = await loaded(web, h5);
    const { state, saved } = await page.convert({ to: "onnx" });
    expect(state).toBe("done");
    const bytes = await savedFile(page, saved);
    // The CLI's bytes, producer_version included (the page's bundle carries the package's version).
    expect(bytes.equals(readFileSync(cliConvert(h5, "mlp.onnx")))).toBe(true);
    expect(decodeModel(bytes, "model.onnx").producer_version).toMatch(/^\d+\.\d+\.\d+/);
    const session = await ort.InferenceSession.create(new Uint8Array(bytes));
    expect(session.inputNames).toEqual(["mlp_in"]);
  });

  it("writes the same safetensors bytes as the CLI for a real PyTorch checkpoint", async () => {
    const page = await loaded(web, TORCH);
    const { state, saved } = await page.convert({ to: "safetensors" });
    expect(state).toBe("done");
    expect(saved[0]).toMatch(/\.safetensors$/);
    const bytes = await savedFile(page, saved);
    expect(bytes.equals(readFileSync(cliConvert(TORCH, "out.safetensors")))).toBe(true);
    expect(await page.text("#error")).toBe("");
  });

  it("converts with --map torch2paddle to the CLI's bytes and reports the mapping per tensor", async () => {
    const page = await loaded(web, TORCH);
    const { state, saved } = await page.convert({ to: "paddle", map: "torch2paddle" });
    expect(state).toBe("done");
    const cli = runCli(["convert", TORCH, join(scratchDir(), "out.pdparams"), "--map", "torch2paddle", "--report", "-", "-q"]);
    expect(cli.code).toBe(0);
    const report = JSON.parse(cli.stdout) as { output: string; tensors: { source: string; target: string }[] };
    expect((await savedFile(page, saved)).equals(readFileSync(report.output))).toBe(true);

    const rows = await page.page.$$eval("#report tr[data-name]", (trs) => trs.map((tr) => tr.getAttribute("data-name")));
    expect(rows.sort()).toEqual(report.tensors.map((t) => t.target).sort());
    expect(await page.text("#report")).toMatch(/8 mapped/);
  });

  it("converts Keras .h5 to PyTorch with keras2torch and --dtype float16, equal tensor by tensor to the CLI's", async () => {
    const page = await loaded(web, KERAS);
    const { state, saved } = await page.convert({ to: "pytorch", map: "keras2torch", dtype: "float16", verifyAfter: true });
    expect(state).toBe("done");
    const dir = scratchDir();
    const ours = writeScratch(dir, "page.pt", await savedFile(page, saved));
    const cli = cliConvert(KERAS, "cli.pt", ["--map", "keras2torch", "--dtype", "float16"]);
    const diff = runCli(["diff", ours, cli]);
    expect(diff.stdout).toMatch(/^equal: 8 tensors/m);
    expect(diff.code).toBe(0);
  });

  it("reads a real GGUF and writes GGUF (quantized to Q8_0) and gguf2hf safetensors with the CLI's bytes", async () => {
    const page = await loaded(web, GGUF);
    const quantized = await page.convert({ to: "gguf", quantize: "Q8_0" });
    expect(quantized.state).toBe("done");
    expect((await savedFile(page, quantized.saved)).equals(readFileSync(cliConvert(GGUF, "q8.gguf", ["--quantize", "Q8_0"])))).toBe(true);
    const hf = await page.convert({ to: "safetensors", map: "gguf2hf" });
    expect(hf.state).toBe("done");
    expect((await savedFile(page, hf.saved)).equals(readFileSync(cliConvert(GGUF, "hf.safetensors", ["--map", "gguf2hf"])))).toBe(true);
  });

  it("diffs two loaded models like the CLI's summary line", async () => {
    const dir = scratchDir();
    const paddle = cliConvert(TORCH, "mapped.pdparams", ["--map", "torch2paddle"]);
    const a = writeScratch(dir, "a.pt", readFileSync(TORCH));
    const page = await loaded(web, a, paddle);
    await page.choose("select#diff-a", basename(a));
    await page.choose("select#diff-b", basename(paddle));
    await page.page.click("#diff");
    await page.page.waitForSelector('#diff-result[data-state="done"]', { state: "attached", timeout: 60_000 });
    const summary = runCli(["diff", a, paddle]).stdout.trim().split("\n").at(-1)!;
    expect(await page.text("#diff-result")).toContain(summary);
  });

  it("verifies a conversion made in the page: pass with its map, fail without", async () => {
    const dir = scratchDir();
    const page = await loaded(web, TORCH);
    const { state, saved } = await page.convert({ to: "paddle", map: "torch2paddle" });
    expect(state).toBe("done");
    const converted = writeScratch(dir, "converted.pdparams", await savedFile(page, saved));
    await page.pick([converted]);
    await page.show(basename(converted));

    // "" in #verify-map means "as chosen in Convert", so #map is set too: "" there is no map at all.
    const verify = async (map: string) => {
      await page.page.selectOption("select#map", map);
      await page.page.selectOption("select#verify-map", map);
      await page.choose("select#verify-source", basename(TORCH));
      await page.choose("select#verify-converted", basename(converted));
      await page.page.evaluate(() => document.querySelector("#verify-result")?.removeAttribute("data-state"));
      await page.page.click("#verify");
      await page.page.waitForSelector('#verify-result[data-state="pass"], #verify-result[data-state="fail"]', { state: "attached", timeout: 60_000 });
      return page.page.getAttribute("#verify-result", "data-state");
    };
    expect(await verify("torch2paddle")).toBe("pass");
    expect(await page.page.locator("#verify-result tr").count()).toBeGreaterThanOrEqual(4);
    expect(await verify("")).toBe("fail");
    // The CLI agrees on both.
    expect(runCli(["verify", TORCH, converted, "--map", "torch2paddle"]).code).toBe(0);
    expect(runCli(["verify", TORCH, converted]).code).toBe(1);
  });

  it("writes a TF checkpoint's two files into the picked folder, the same bytes as the CLI's", async () => {
    const page = await loaded(web, TORCH);
    const { state, saved } = await page.convert({ to: "tf-checkpoint" });
    expect(state).toBe("done");
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatch(/\/$/);
    const names = await page.listSavedFolder(saved[0]);
    const cli = filesOf(join(cliConvert(TORCH, "three_layer_model.index", ["--to", "tf-checkpoint"]), ".."));
    expect(names).toEqual(Object.keys(cli));
    for (const name of names) expect((await page.readSaved(`${saved[0]}${name}`)).equals(cli[name]!), name).toBe(true);
  });

  it("without the File System Access API downloads the output (several files as one zip) and says the limit", async () => {
    const page = await web.open({ pickers: false });
    await page.showFile(TORCH);
    expect(await page.text("#limits")).toMatch(/no file system access/i);

    const single = page.page.waitForEvent("download");
    expect((await page.convert({ to: "safetensors" })).state).toBe("done");
    const file = await single;
    expect(file.suggestedFilename()).toBe("three_layer_model.safetensors");
    expect(readFileSync((await file.path())!).equals(readFileSync(cliConvert(TORCH, "out.safetensors")))).toBe(true);

    const several = page.page.waitForEvent("download");
    expect((await page.convert({ to: "tf-checkpoint" })).state).toBe("done");
    const zip = await several;
    expect(zip.suggestedFilename()).toMatch(/\.zip$/);
    const entries = unzipSync(readFileSync((await zip.path())!));
    const cli = filesOf(join(cliConvert(TORCH, "three_layer_model.index", ["--to", "tf-checkpoint"]), ".."));
    expect(
      Object.keys(entries)
        .map((name) => name.split("/").at(-1))
        .sort(),
    ).toEqual(Object.keys(cli));
    for (const [name, bytes] of Object.entries(entries)) expect(Buffer.from(bytes).equals(cli[name.split("/").at(-1)!]!), name).toBe(true);
  });
});
