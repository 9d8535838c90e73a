import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { read } from "../../src/index.js";
import { WeightbridgeError } from "../../src/errors.js";
import { CLI, runCli } from "../helpers/cli.js";
import { absurdTensorPickle, codePayloads, legacyTorch, plainPickle, resourcePayloads, torchZip, type Payload } from "./hostile-pickles.js";
import { Watchdog } from "./watchdog.js";

const work = mkdtempSync(join(tmpdir(), "wb-hostile-"));
/** Every code payload would create this file if anything ran it. */
const marker = join(work, "PWNED");
/**
 * Only catches hangs (a synchronous loop the test's own timeout cannot interrupt): the limit is
 * far beyond any honest run on a loaded machine. Work is bounded by the readers' and the
 * unpickler's own budgets, which the error codes below prove; elapsed time is never asserted.
 */
const HANG_MS = 120_000;
const watchdog = new Watchdog();
afterAll(async () => {
  await watchdog.close();
  rmSync(work, { recursive: true, force: true });
});

type Container = { name: string; ext: string; wrap(pickleBytes: Uint8Array): Promise<Uint8Array> | Uint8Array };
const CONTAINERS: Container[] = [
  { name: "plain pickle", ext: ".pdparams", wrap: (p) => p },
  { name: "torch zip", ext: ".pt", wrap: (p) => torchZip(p) },
  { name: "legacy torch", ext: ".pt", wrap: (p) => legacyTorch(p) },
];

let counter = 0;
async function hostileFile(container: Container, payload: Payload): Promise<string> {
  const path = join(work, `h${++counter}${container.ext}`);
  writeFileSync(path, await container.wrap(plainPickle(payload)));
  return path;
}

/** Reads the file through the public API: must end in a WeightbridgeError (or a result when tolerated), never hang. */
async function outcome(path: string, tolerate = false): Promise<{ error?: WeightbridgeError }> {
  watchdog.start(path, HANG_MS);
  try {
    const checkpoint = await read(path, { tolerateUnsafePickles: tolerate });
    for (const t of checkpoint.tensors) for await (const _ of t.data.chunks(1 << 20));
    await checkpoint.close();
    return {};
  } catch (e) {
    if (!(e instanceof WeightbridgeError)) throw new Error(`${path}: not a WeightbridgeError: ${String(e)}`, { cause: e });
    return { error: e };
  } finally {
    watchdog.stop();
  }
}

describe.each(CONTAINERS)("hostile pickles inside a $name", (container) => {
  test.each(codePayloads(marker))("$name is refused as unsafe-pickle and never runs", async (payload) => {
    const path = await hostileFile(container, payload);
    const { error } = await outcome(path);
    expect(error, payload.name).toBeInstanceOf(WeightbridgeError);
    // A few payloads are malformed before they reach a callable (EXT1 has no registry): corrupt/unsupported is fine.
    expect(["unsafe-pickle", "corrupt", "unsupported"]).toContain(error!.code);
    // Readers name the member too (`model.pt:archive/data.pkl`).
    expect(error!.location.file?.startsWith(path)).toBe(true);
    // Tolerating unsafe pickles (inspect) reads them as data, still running nothing.
    await outcome(path, true);
    expect(existsSync(marker)).toBe(false);
  });

  test.each(resourcePayloads())("$name ends in a WeightbridgeError (a budget, not exhaustion)", async (payload) => {
    const path = await hostileFile(container, payload);
    const { error } = await outcome(path);
    expect(error, payload.name).toBeInstanceOf(WeightbridgeError);
    expect(error!.code).not.toBe("bad-magic");
  });
});

describe("absurd tensor geometry in a torch zip over a 16-byte storage", () => {
  const cases: Array<[string, number[], number[], number]> = [
    ["shape 2^40 x 2^40", [2 ** 40, 2 ** 40], [2 ** 40, 1], 4],
    ["broadcast of 2^40 elements by stride 0", [2 ** 40], [0], 4],
    ["storage declaring 2^50 elements", [4], [1], 2 ** 50],
    ["shape past 2^53 bytes", [2 ** 30, 2 ** 30, 2 ** 10], [0, 0, 0], 4],
  ];
  test.each(cases)("%s", async (_name, shape, stride, numel) => {
    const path = join(work, `absurd${++counter}.pt`);
    writeFileSync(path, await torchZip(absurdTensorPickle(shape, stride, numel)));
    const { error } = await outcome(path);
    expect(error).toBeInstanceOf(WeightbridgeError);
    expect(["corrupt", "unsupported"]).toContain(error!.code);
  });
});

describe.skipIf(!existsSync(CLI))("hostile files through the CLI", () => {
  test("convert refuses each with exit 1, one stderr line, no output and nothing run", async () => {
    const payloads = codePayloads(marker).slice(0, 4);
    for (const container of CONTAINERS) {
      for (const payload of payloads) {
        const path = await hostileFile(container, payload);
        const out = join(work, `out${counter}.safetensors`);
        const result = runCli(["convert", path, out], { timeout: HANG_MS });
        expect(result.code, `${container.name}/${payload.name}: ${result.stderr}`).toBe(1);
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
        expect(result.stderr).toMatch(/^weightbridge: error: /);
        expect(existsSync(out)).toBe(false);
      }
    }
    expect(readdirSync(work).filter((n) => n.includes("wb-tmp"))).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });
});
