import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";
import { scratchDir, useWebPage, writeScratch, webPageTestable, type WebPage } from "./helpers/web.js";
import { writeBytes } from "../../src/api/write.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";

// Issue 29: the page has the CLI's --layer, --keras-config, key prefixes and --select (a Flatten
// refusal told users to pass --layer, which the page could not), and its tensor table fits 420 px.

const KERAS_WEIGHTS = fixture("keras", "real", "KERAS_conv2d_model_weights.h5");
const KERAS_CONFIG = fixture("keras", "real", "KERAS_conv2d_model.json");
const TRAINING = fixture("pytorch", "training_checkpoint.pt");

function cliConvertTo(input: string, name: string, flags: string[]): string {
  const out = join(scratchDir(), name);
  const result = runCli(["convert", input, out, "-q", ...flags]);
  if (result.code !== 0) throw new Error(`convert failed: ${result.stderr}`);
  return out;
}

const cliConvert = (input: string, name: string, flags: string[]): Buffer => readFileSync(cliConvertTo(input, name, flags));

/** Opens the form's further options and fills them (empty strings clear a field). */
async function fillOptions(page: WebPage, fields: { layers?: string; strip?: string; add?: string; select?: string }): Promise<void> {
  if (!(await page.page.locator("#convert-more").evaluate((d) => (d as HTMLDetailsElement).open))) await page.page.click("#convert-more > summary");
  await page.page.fill("#layers", fields.layers ?? "");
  await page.page.fill("#strip-prefix", fields.strip ?? "");
  await page.page.fill("#add-prefix", fields.add ?? "");
  await page.page.fill("#select", fields.select ?? "");
}

describe.skipIf(!webPageTestable())("web page: the CLI's mapping options, and a table that fits 420 px", () => {
  const web = useWebPage();

  it("--keras-config: a save_weights file with its model.json converts as the CLI's does", async () => {
    const page = await web.shared();
    await page.showFile(KERAS_WEIGHTS);
    await fillOptions(page, {});
    // Without the config the page refuses, naming --layer as the CLI does.
    expect((await page.convert({ to: "pytorch", map: "keras2torch" })).state).toBe("error");
    expect(await page.page.textContent("#error")).toMatch(/--layer/);
    await page.page.setInputFiles("input#keras-config", KERAS_CONFIG);
    await expect.poll(() => page.page.textContent("#keras-config-name"), { timeout: 60_000 }).toBe(basename(KERAS_CONFIG));
    const { state, saved } = await page.convert({ to: "pytorch", map: "keras2torch", verifyAfter: true });
    expect(state).toBe("done");
    expect(await page.readSaved(saved[0])).toEqualBytes(
      cliConvert(KERAS_WEIGHTS, "KERAS_conv2d_model_weights.pt", ["--map", "keras2torch", "--keras-config", KERAS_CONFIG]),
    );
    // The check after it gets the config too (without it the Dense after the Flatten cannot be checked).
    expect(await page.page.textContent(".verify-summary")).toMatch(/^pass: verified 2 layers/);
    await page.page.click("#keras-config-clear");
  });

  it("--layer, --strip-prefix, --add-prefix and --select give the CLI's bytes", async () => {
    const dir = scratchDir();
    const tensors = [
      makeTensor("module.table.weight", "float32", [10, 4], bytesData(new Uint8Array(160).fill(3))),
      makeTensor("module.fc.weight", "float32", [3, 4], bytesData(new Uint8Array(48).fill(7))),
    ];
    const dp = writeScratch(dir, "dp.safetensors", await writeBytes({ tensors, meta: {} }, "safetensors"));
    const page = await web.shared();
    await page.showFile(dp);
    // Prefixes come off and go on before --layer sees the names: its regex matches the result.
    await fillOptions(page, { layers: "^net\\.table\\.=embedding", strip: "module.", add: "net." });
    const mapped = await page.convert({ to: "keras-h5", map: "torch2keras" });
    expect(mapped.state, (await page.page.textContent("#error")) ?? "").toBe("done");
    const cli = cliConvertTo(dp, "dp.h5", [
      "--map",
      "torch2keras",
      "--layer",
      "^net\\.table\\.=embedding",
      "--strip-prefix",
      "module.",
      "--add-prefix",
      "net.",
    ]);
    // HDF5 files differ in their headers' bytes: the same names, shapes and tensor bytes is what counts (diff: bit-exact).
    const pageOut = writeScratch(dir, "page.h5", await page.readSaved(mapped.saved[0]));
    const same = runCli(["diff", pageOut, cli]);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    const names = (JSON.parse(runCli(["inspect", pageOut, "--json"]).stdout) as { tensors: Array<{ name: string }> }).tensors.map((t) => t.name);
    expect(names.every((n) => n.startsWith("net.")) && names.some((n) => n.includes("embeddings")), names.join()).toBe(true);

    await page.showFile(TRAINING);
    await fillOptions(page, { select: "model_state_dict" });
    const selected = await page.convert({ to: "safetensors" });
    expect(selected.state, (await page.page.textContent("#error")) ?? "").toBe("done");
    expect(await page.readSaved(selected.saved[0])).toEqualBytes(cliConvert(TRAINING, "sel.safetensors", ["--select", "model_state_dict"]));
    await fillOptions(page, {});
  });

  it("at 420 px the tensor table shows each shape and dtype on one line", async () => {
    const page = await web.open({ viewport: { width: 420, height: 800 } });
    // Long names and shapes of rank 4: what used to wrap shapes over three lines.
    const tensors = [
      makeTensor("encoder.layers.11.attention.self_attention.query_key_value.weight", "float32", [4096, 1, 1, 1], bytesData(new Uint8Array(4 * 4096))),
      makeTensor("features.denseblock4.denselayer16.conv2.weight", "bfloat16", [32, 128, 3, 3], bytesData(new Uint8Array(2 * 32 * 128 * 9))),
    ];
    const file = writeScratch(scratchDir(), "wide.safetensors", await writeBytes({ tensors, meta: {} }, "safetensors"));
    await page.pick([file]);
    await page.show(basename(file));
    const lines = await page.page.$$eval("#tensors td.shape, #tensors td.dtype", (cells) =>
      cells.map((cell) => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        return { text: cell.textContent, lines: new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size };
      }),
    );
    expect(lines.length).toBe(4);
    for (const { text, lines: n } of lines) expect(n, `'${text}' wraps`).toBe(1);
    expect(await page.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  });
});
