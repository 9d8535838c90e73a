import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { cliRows, scratchDir, useWebPage, webPageTestable } from "./helpers/web.js";

const REAL = join(import.meta.dirname, "../../fixtures/tflite/real");
const INT8 = join(REAL, "hello_world_int8.tflite");

describe.skipIf(!webPageTestable())("web page: TFLite models in Chromium", () => {
  const web = useWebPage();

  it("shows a picked .tflite as the CLI reads it (quantization tensors too), pickle-free", async () => {
    const page = await web.shared();
    await page.pick([INT8]);
    await page.show(basename(INT8));
    expect(await page.text("#format")).toBe("tflite");
    expect(await page.tensorRows()).toEqual(cliRows(INT8));
    expect(await page.page.getAttribute("#scan", "data-verdict")).toBe("none");
    expect(await page.text("#scan")).toMatch(/No pickles/);
    expect(await page.text("#error")).toBe("");
  });

  it("converts to PyTorch with tflite2torch (the CLI's bytes) and re-weights the .tflite from safetensors (the template's bytes)", async () => {
    const page = await web.shared();
    await page.pick([INT8]);
    await page.show(basename(INT8));
    const torch = await page.convert({ to: "pytorch", map: "tflite2torch" });
    expect(torch.state).toBe("done");
    // The torch zip's folder is named after the file: the CLI writes the name the page chose.
    const cliPt = join(scratchDir(), basename(torch.saved[0]!));
    expect(runCli(["convert", INT8, cliPt, "--map", "tflite2torch", "-q"]).code).toBe(0);
    expect((await page.readSaved(torch.saved[0])).equals(readFileSync(cliPt))).toBe(true);

    const st = join(scratchDir(), "hw.safetensors");
    expect(runCli(["convert", INT8, st, "-q"]).code).toBe(0);
    await page.pick([st]);
    await page.show(basename(st));
    const back = await page.convert({ to: "tflite", template: INT8 });
    expect(back.state).toBe("done");
    expect((await page.readSaved(back.saved[0])).equals(readFileSync(INT8))).toBe(true);
    expect(await page.text("#error")).toBe("");
  });
});
