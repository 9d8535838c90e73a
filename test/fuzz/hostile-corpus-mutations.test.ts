/**
 * The fuzzer's pass over the scanners' hostile corpus (fixtures/pickle/hostile-corpus/): each
 * pickle is mutated a few ways (fixed seeds), then scanned and read bare and as a torch zip's
 * data.pkl. Every outcome is a result or one WeightbridgeError; a mutated dangerous pickle is
 * never read as safe unless scan also calls it clean; a watchdog catches hangs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { read, scan, WeightbridgeError } from "../../src/index.js";
import { corpus, corpusBytes, isBarePickle, zipped } from "../pickle/hostile-corpus.js";
import { hashString, MUTATION_KINDS, mutate, rng } from "./mutate.js";
import { Watchdog } from "./watchdog.js";

const work = mkdtempSync(join(tmpdir(), "wb-corpus-fuzz-"));
const watchdog = new Watchdog();
afterAll(async () => {
  await watchdog.close();
  rmSync(work, { recursive: true, force: true });
});

const seeds = corpus.filter((f) => isBarePickle(corpusBytes(f)));
let n = 0;

/** scan and read must each end in a result or a WeightbridgeError; returns whether scan called it clean and read accepted it. */
async function check(path: string, label: string): Promise<{ clean: boolean; read: boolean }> {
  watchdog.start(label, 120_000);
  try {
    let clean = false;
    try {
      const verdict = (await scan(path)).verdict;
      clean = verdict === "safe" || verdict === "none";
    } catch (e) {
      if (!(e instanceof WeightbridgeError)) throw new Error(`${label}: scan threw ${String(e)}`, { cause: e });
    }
    let accepted = false;
    try {
      const c = await read(path);
      for (const t of c.tensors) for await (const _ of t.data.chunks(1 << 20));
      await c.close();
      accepted = true;
    } catch (e) {
      if (!(e instanceof WeightbridgeError)) throw new Error(`${label}: read threw ${String(e)}`, { cause: e });
    }
    return { clean, read: accepted };
  } finally {
    watchdog.stop();
  }
}

/** Two of the mutation kinds per file, picked by its name: every kind is used across the corpus, the suite stays short. */
const kindsFor = (file: string) => [0, 1].map((i) => MUTATION_KINDS[(hashString(file) + i * 2) % MUTATION_KINDS.length]!);

describe.each(seeds)("mutations of $file", (f) => {
  test.each(kindsFor(f.file))("%s, bare and in a torch zip", async (kind) => {
    const r = rng(hashString(`${f.file}:${kind}`));
    const { bytes, detail } = mutate(corpusBytes(f), kind, r);
    const bare = join(work, `m${++n}.pkl`);
    writeFileSync(bare, bytes);
    const zip = join(work, `m${n}.pt`);
    writeFileSync(zip, await zipped(bytes));
    for (const path of [bare, zip]) {
      const outcome = await check(path, `${f.file} ${kind} (${detail})`);
      // Whatever read accepts, scan must not call dangerous, and the reverse: the two never disagree that way.
      if (outcome.read) expect(outcome.clean, `${f.file} ${kind} ${detail}: read accepted what scan flags`).toBe(true);
    }
  });
});
