/**
 * The malicious-pickle corpora the scanners test themselves with (picklescan's and modelscan's
 * test data, fixtures/pickle/hostile-corpus/manifest.json), checked against each project's own
 * verdicts: every file they call dangerous is flagged by scan and refused by convert, bare and
 * as the data.pkl of a torch zip; every safe file scans clean and reads; nothing hangs, crashes
 * or runs (a canary file that any execution would create never appears).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { convert, read, scan, WeightbridgeError, type ScanResult } from "../../src/index.js";
import { CORPUS, canonicalName, corpus, corpusBytes, isBarePickle, zipped, type CorpusFile } from "./hostile-corpus.js";

const work = mkdtempSync(join(tmpdir(), "wb-corpus-"));
const canary = join(work, "CANARY");
afterAll(() => {
  expect(existsSync(canary)).toBe(false);
  rmSync(work, { recursive: true, force: true });
});

const figures = { dangerous: 0, flagged: 0, refused: 0, zippedDangerous: 0, zippedFlagged: 0, zippedRefused: 0, safe: 0, safeRead: 0 };
let n = 0;

async function convertOutcome(path: string): Promise<WeightbridgeError | undefined> {
  const out = join(work, `out${++n}.safetensors`);
  try {
    await convert(path, out);
    return undefined;
  } catch (e) {
    if (!(e instanceof WeightbridgeError)) throw new Error(`${path}: convert threw a ${String(e)}, not a WeightbridgeError`, { cause: e });
    expect(existsSync(out)).toBe(false);
    return e;
  } finally {
    rmSync(out, { force: true });
  }
}

/** Every global upstream calls dangerous is among the findings (unless the file is a container nobody can open). */
function expectUpstreamGlobals(f: CorpusFile, result: ScanResult): void {
  if (result.findings.some((x) => x.status === "unsupported") && result.findings.every((x) => x.opcode === "-")) return;
  const seen = new Set(result.findings.map((x) => x.callable));
  for (const g of f.dangerous) expect(seen, `${f.file}: ${g}`).toContain(canonicalName(g));
}

const flagged = (r: ScanResult) => r.verdict !== "safe" && r.verdict !== "none";

describe.each(corpus)("$file ($verdict)", (f) => {
  const path = join(CORPUS, f.file);

  test("bare: scan and convert agree with upstream's verdict", async () => {
    const result = await scan(path);
    const error = await convertOutcome(path);
    if (f.verdict === "dangerous" || f.verdict === "cannot-look-inside") {
      figures.dangerous++;
      expect(flagged(result), JSON.stringify(result.findings)).toBe(true);
      figures.flagged++;
      expectUpstreamGlobals(f, result);
      expect(error, "convert wrote an output").toBeInstanceOf(WeightbridgeError);
      figures.refused++;
      if (error!.code === "unsafe-pickle") expect(error!.message).toMatch(/^pickle calls \S+ \(\w+ at byte \d+\)/);
    } else if (f.verdict === "safe") {
      figures.safe++;
      expect(result.dangerous, f.file).toEqual([]);
      // Files weightbridge has a reader for convert; the rest (bare lists, .npy) are not model files.
      if (/(pytorch_model\.bin|safe_.*pytorch\.pt)$/.test(f.file)) expect(error, error?.message).toBeUndefined();
      else expect(error?.code).toBe("bad-magic");
    } else {
      expect(error).toBeInstanceOf(WeightbridgeError);
    }
  });

  const bytes = corpusBytes(f);
  // Only a bare pickle can stand as a torch zip's data.pkl; the other corpus files (zips, .npy,
  // archives) get no such case at all rather than a skipped one.
  if (!isBarePickle(bytes) || f.verdict === "not-a-pickle") return;
  test("as a torch zip's data.pkl: scan flags and read refuses, or reads", async () => {
    const zipPath = join(work, `z${++n}.pt`);
    writeFileSync(zipPath, await zipped(bytes));
    const result = await scan(zipPath);
    let error: WeightbridgeError | undefined;
    try {
      const checkpoint = await read(zipPath);
      await checkpoint.close();
    } catch (e) {
      if (!(e instanceof WeightbridgeError)) throw e;
      error = e;
    }
    if (f.verdict === "dangerous") {
      figures.zippedDangerous++;
      expect(flagged(result)).toBe(true);
      figures.zippedFlagged++;
      expectUpstreamGlobals(f, result);
      expect(error, "read accepted a dangerous pickle").toBeInstanceOf(WeightbridgeError);
      figures.zippedRefused++;
      if (f.dangerous.length > 0 && !/pytorch_magic_bypass|malicious6\./.test(f.file)) expect(error!.code, error!.message).toBe("unsafe-pickle");
    } else {
      figures.safeRead++;
      expect(result.dangerous).toEqual([]);
      expect(error, error?.message).toBeUndefined();
    }
  });
});

describe("nothing in the corpus runs", () => {
  test("a protocol-0 os.system pickle rewritten to touch a canary is refused and never runs, bare and zipped", async () => {
    const original = new TextDecoder("latin1").decode(corpusBytes(corpus.find((f) => f.file.endsWith("malicious2_v0.pkl"))!));
    expect(original).toContain("Vls -la\n");
    const evil = Uint8Array.from(original.replace("Vls -la\n", `Vtouch ${canary}\n`), (c) => c.charCodeAt(0));
    const bare = join(work, "canary.pkl");
    writeFileSync(bare, evil);
    const zip = join(work, "canary.pt");
    writeFileSync(zip, await zipped(evil));
    for (const path of [bare, zip]) {
      expect(flagged(await scan(path))).toBe(true);
      expect(await convertOutcome(path)).toBeInstanceOf(WeightbridgeError);
      await read(path, { tolerateUnsafePickles: true }).then(
        (c) => c.close(),
        () => undefined,
      );
    }
    expect(existsSync(canary)).toBe(false);
  });

  test("figures: 100 % of the dangerous files flagged and refused, every safe one read", () => {
    expect(figures.flagged).toBe(figures.dangerous);
    expect(figures.refused).toBe(figures.dangerous);
    expect(figures.zippedFlagged).toBe(figures.zippedDangerous);
    expect(figures.zippedRefused).toBe(figures.zippedDangerous);
    expect(figures.dangerous).toBeGreaterThanOrEqual(98);
    console.log(`hostile corpus: ${JSON.stringify(figures)}`);
  });
});
