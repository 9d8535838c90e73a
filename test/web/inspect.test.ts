import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";
// @ts-expect-error plain ESM shared with the bench
import { TEST_OUTPUT } from "./helpers/harness.mjs";
import { cliInspect, cliRows, scratchDir, useWebPage, webPageTestable } from "./helpers/web.js";

const TORCH = fixture("pytorch", "real", "three_layer_model.pt");
const KERAS = fixture("keras", "real", "KERAS_3layer_weights.h5");
const PADDLE = fixture("paddle", "real", "mnist.pdparams");
const ONNX_EXTERNAL = [fixture("onnx", "torch_conv_lstm_external.onnx"), fixture("onnx", "torch_conv_lstm_external.onnx.data")];
const SAVEDMODEL = fixture("tensorflow", "savedmodel-tf2-half-plus-two");
const PADDLE_INFERENCE = ["inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info"].map((name) => fixture("paddle", "real", name));
const HOSTILE = fixture("pickle", "hostile-corpus", "modelscan", "unsafe_zip_pytorch.pt");

/** What the hostile corpus's manifest says about a file: its verdict and dangerous globals. */
function manifestEntry(relative: string): { verdict: string; dangerous: string[] } {
  const manifest = JSON.parse(readFileSync(fixture("pickle", "hostile-corpus", "manifest.json"), "utf8"));
  return manifest.files.find((f: { file: string }) => f.file === relative);
}

describe.skipIf(!webPageTestable())("web page: reading and scanning real files in Chromium", () => {
  const web = useWebPage();

  it("shows a picked PyTorch checkpoint as the CLI reads it, with a safe scan verdict", async () => {
    const page = await web.shared();
    await page.pick([TORCH]);
    await page.show(basename(TORCH));
    expect(await page.text("#format")).toBe("pytorch");
    expect(await page.tensorRows()).toEqual(cliRows(TORCH));
    expect(await page.text("#totals")).toMatch(/\b8 tensors\b/);
    expect(await page.page.getAttribute("#scan", "data-verdict")).toBe("safe");
    expect(await page.text("#error")).toBe("");
  });

  it("shows a dropped Keras .h5 with its meta", async () => {
    const page = await web.shared();
    await page.drop([KERAS]);
    await page.show(basename(KERAS));
    expect(await page.text("#format")).toBe("keras-h5");
    expect(await page.tensorRows()).toEqual(cliRows(KERAS));
    expect(await page.text("#meta")).toContain("2.0.0");
    expect(await page.page.getAttribute("#scan", "data-verdict")).toBe("none");
  });

  it("shows a picked .pdparams (a pickle) and scans it", async () => {
    const page = await web.shared();
    await page.pick([PADDLE]);
    await page.show(basename(PADDLE));
    expect(await page.text("#format")).toBe("paddle");
    expect(await page.tensorRows()).toEqual(cliRows(PADDLE));
    expect(await page.page.getAttribute("#scan", "data-verdict")).toBe("safe");
  });

  it("groups an ONNX model with its external data file picked together into one model", async () => {
    const page = await web.shared();
    await page.pick(ONNX_EXTERNAL);
    await page.show(basename(ONNX_EXTERNAL[0]));
    expect(await page.page.locator(`#models li[data-model="${basename(ONNX_EXTERNAL[0])}"]`).count()).toBe(1);
    expect(await page.page.locator(`#models li[data-model="${basename(ONNX_EXTERNAL[1])}"]`).count()).toBe(0);
    expect(await page.text("#format")).toBe("onnx");
    expect(await page.tensorRows()).toEqual(cliRows(ONNX_EXTERNAL[0]));
    expect(await page.page.getAttribute("#scan", "data-verdict")).toBe("none");
  });

  it("groups a .pdmodel with its .pdiparams, and shards with their index, into one model each", async () => {
    const page = await web.shared();
    await page.pick(PADDLE_INFERENCE);
    await page.show("inference.pdmodel");
    expect(await page.page.locator('#models li[data-model="inference.pdiparams"]').count()).toBe(0);
    expect(await page.text("#format")).toBe("paddle-inference");
    expect(await page.tensorRows()).toEqual(cliRows(PADDLE_INFERENCE[0]!));

    const dir = scratchDir();
    expect(runCli(["convert", TORCH, join(dir, "model.safetensors"), "--max-shard-size", "8KB", "-q"]).code).toBe(0);
    const shards = readdirSync(dir).sort();
    expect(shards).toHaveLength(4);
    await page.pick(shards.map((name) => join(dir, name)));
    await page.show("model.safetensors.index.json");
    expect(await page.page.locator('#models li[data-model^="model-0000"]').count()).toBe(0);
    expect(await page.text("#format")).toBe("safetensors");
    expect(await page.tensorRows()).toEqual(cliRows(join(dir, "model.safetensors.index.json")));
  });

  it("reads a SavedModel folder from the folder picker", async () => {
    const page = await web.shared();
    await page.pickFolder(SAVEDMODEL);
    await page.show(basename(SAVEDMODEL));
    expect(await page.text("#format")).toBe("tf-savedmodel");
    expect(await page.tensorRows()).toEqual(cliRows(SAVEDMODEL));
  });

  it("shows a hostile pickle as dangerous, naming its globals, without running it", async () => {
    const expected = manifestEntry("modelscan/unsafe_zip_pytorch.pt");
    const page = await web.shared();
    await page.pick([HOSTILE]);
    await page.show(basename(HOSTILE));
    expect(await page.text("#format")).toBe(cliInspect(HOSTILE).format);
    expect(await page.page.getAttribute("#scan", "data-verdict")).toBe(expected.verdict);
    const scanText = await page.text("#scan");
    for (const global of expected.dangerous) expect(scanText).toContain(global);
  });

  it("filters the tensor table by the filter box", async () => {
    const page = await web.shared();
    await page.showFile(TORCH);
    await page.page.fill("#filter", "bias");
    await expect.poll(() => page.tensorRows(), { timeout: 60_000 }).toEqual(cliRows(TORCH).filter((row) => row.name.includes("bias")));
    await page.page.fill("#filter", "");
    await expect.poll(() => page.tensorRows(), { timeout: 60_000 }).toEqual(cliRows(TORCH));
    const tree = await page.text("#tree");
    const cliTree = runCli(["inspect", "--tree", TORCH])
      .stdout.split("\n")
      .filter((line) => /[├└]─/.test(line));
    expect(cliTree.length).toBe(12);
    for (const line of cliTree) expect(tree).toContain(line.trim());
  });

  it("shows why a damaged checkpoint cannot be read, and a failed conversion's error, as the CLI's one line, no stack trace", async () => {
    const dir = scratchDir();
    const damaged = join(dir, "cut.pt");
    writeFileSync(damaged, readFileSync(TORCH).subarray(0, 10_000));
    const cliLine = (args: string[]) => {
      const cli = runCli(args, { cwd: dir });
      expect(cli.code).toBe(1);
      return cli.stderr.trim().replace(/^weightbridge: error: /, "");
    };
    const oneLine = (text: string) => {
      expect(text.split("\n")).toHaveLength(1);
      expect(text).not.toMatch(/\bat .*:\d+:\d+/);
    };

    const page = await web.open();
    page.allowProblems = true;
    await page.pick([damaged]);
    await page.show("cut.pt");
    expect(await page.text("#format")).toBe("unreadable");
    const failure = await page.text("#error");
    expect(failure).toContain(cliLine(["inspect", "cut.pt"]));
    oneLine(failure);
    await page.page.evaluate(() => (document.querySelector("#error")!.textContent = ""));

    const { state } = await page.convert({ to: "safetensors" });
    expect(state).toBe("error");
    const error = await page.text("#error");
    expect(error).toContain(cliLine(["convert", "cut.pt", "cut.safetensors"]));
    oneLine(error);
    expect(page.problems.filter((p) => p.startsWith("page error"))).toEqual([]);
  });

  it("reaches every main control by keyboard and converts with Enter", async () => {
    const page = await web.open();
    await page.pick([TORCH]);
    await page.show(basename(TORCH));
    const reached = new Set<string>();
    await page.page.locator("body").focus();
    for (let i = 0; i < 80; i++) {
      await page.page.keyboard.press("Tab");
      const id = await page.page.evaluate(() => document.activeElement?.id ?? "");
      if (id) reached.add(id);
    }
    for (const id of ["pick-files", "pick-folder", "filter", "to", "map", "dtype", "keep-unmapped", "verify-after", "convert"]) {
      expect([...reached], `#${id} reachable by Tab`).toContain(id);
    }
    const { state } = await page.convert({ to: "safetensors", byKeyboard: true });
    expect(state).toBe("done");
  });

  it("keeps screenshots at 1280×800 and 420 px wide, before and after a conversion, without sideways scrolling", async () => {
    mkdirSync(TEST_OUTPUT, { recursive: true });
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 420, height: 800 },
    ]) {
      const page = await web.open({ viewport });
      await page.pick([TORCH]);
      await page.show(basename(TORCH));
      const file = join(TEST_OUTPUT, `page-${viewport.width}.png`);
      await page.page.screenshot({ path: file, fullPage: viewport.width > 1000 ? false : true });
      expect(readFileSync(file).subarray(1, 4).toString()).toBe("PNG");
      const overflow = () => page.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(await overflow(), `page wider than ${viewport.width} px`).toBeLessThanOrEqual(0);
      // The whole page after a mapped, verified conversion: the report and the verify table.
      expect((await page.convert({ to: "keras-h5", map: "torch2keras", verifyAfter: true })).state).toBe("done");
      expect(await page.page.locator("#report table.report-table tr[data-name]").count()).toBe(8);
      expect(await page.page.locator('#report table.verify-table tr[data-verdict="agrees"]').count()).toBe(4);
      expect(await overflow(), `page with the report wider than ${viewport.width} px`).toBeLessThanOrEqual(0);
      await page.page.screenshot({ path: join(TEST_OUTPUT, `page-${viewport.width}-converted.png`), fullPage: true });
    }
  });
});
