import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, copyFileSync, writeFileSync, readFileSync } from "node:fs";
import { CLI, runCli } from "../helpers/cli.js";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convert } from "../../src/index.js";
import { findSeeds, readableFormats, type Seed } from "./corpus.js";
import { fixture } from "../helpers/fixtures.js";
import { hashString, mutate, MUTATION_KINDS, rng, type Mutation } from "./mutate.js";
import { runCase } from "./run-case.js";
import { KNOWN_FAILURES } from "./known-failures.js";
import { Watchdog } from "./watchdog.js";

/**
 * FUZZ_CASES (total over the corpus), FUZZ_SEED, FUZZ_MAX_SEED_BYTES, FUZZ_CLI_EVERY (one seed in
 * so many also goes through the CLI): `npm test` runs a sample, `npm run fuzz` the long run.
 * FUZZ_HANG_MS: the watchdog's limit for one case. It only catches hangs (a case that never
 * ends kills the run); how long a case takes is never asserted, it depends on the machine's load.
 */
export const settings = {
  cases: Number(process.env.FUZZ_CASES ?? 1500),
  cliEvery: Number(process.env.FUZZ_CLI_EVERY ?? 4),
  seed: Number(process.env.FUZZ_SEED ?? 1),
  maxSeedBytes: Number(process.env.FUZZ_MAX_SEED_BYTES ?? 160_000),
  hangMs: Number(process.env.FUZZ_HANG_MS ?? 180_000),
};

/** Safetensors has no framework-written fixture: seeds are made from real files by our writer. */
const SAFETENSORS_SOURCES = [fixture("pytorch", "state_dict.pt"), fixture("keras", "keras3.weights.h5"), fixture("onnx", "torch_conv_lstm.onnx")];

export async function generatedSeeds(folder: string): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (const source of SAFETENSORS_SOURCES) {
    const path = join(folder, `${basename(source).replace(/\./g, "_")}.safetensors`);
    await convert(source, path);
    seeds.push({ id: `generated/${basename(path)}`, path, format: "safetensors", size: readFileSync(path).byteLength, siblings: [] });
  }
  return seeds;
}

export interface CaseFailure {
  id: string;
  mutation: string;
  result: string;
  problem: string;
}

/** Case `n` of a seed: which file it damages and how. Depends only on (FUZZ_SEED, seed id, n). */
export function buildCase(seed: Seed, n: number, originals: Map<string, Uint8Array>): { victim: string; mutation: Mutation } {
  const r = rng(hashString(`${settings.seed}:${seed.id}#${n}`));
  const victim = seed.siblings.length > 0 && r() < 0.25 ? seed.siblings[Math.floor(r() * seed.siblings.length)]! : seed.path;
  const kind = MUTATION_KINDS[Math.floor(r() * MUTATION_KINDS.length)]!;
  return { victim, mutation: mutate(originals.get(victim)!, kind, r) };
}

/** Runs the mutation cases of one seed in a private folder; returns the rule breaks. */
async function fuzzSeed(
  seed: Seed,
  cases: number,
  work: string,
  watchdog: Watchdog,
): Promise<{ failures: CaseFailure[]; results: Map<string, number>; slowest?: { label: string; ms: number } }> {
  const folder = join(work, String(hashString(seed.id)));
  const outDir = join(folder, "out");
  mkdirSync(outDir, { recursive: true });
  for (const sibling of seed.siblings) copyFileSync(sibling, join(folder, basename(sibling)));
  const target = join(folder, basename(seed.path));
  const originals = new Map([seed.path, ...seed.siblings].map((p) => [p, new Uint8Array(readFileSync(p))]));
  const failures: CaseFailure[] = [];
  const results = new Map<string, number>();
  let slowest: { label: string; ms: number } | undefined;
  for (let n = 0; n < cases; n++) {
    const id = `${seed.id}#${n}`;
    if (KNOWN_FAILURES[id] && settings.seed === 1) continue;
    const { victim, mutation } = buildCase(seed, n, originals);
    writeFileSync(target, victim === seed.path ? mutation.bytes : originals.get(seed.path)!);
    if (victim !== seed.path) {
      rmSync(join(folder, basename(victim)), { force: true });
      writeFileSync(join(folder, basename(victim)), mutation.bytes);
    }
    const label = `${id} (${basename(victim)}: ${mutation.detail})`;
    watchdog.start(label, settings.hangMs);
    const outcome = await runCase(target, outDir);
    watchdog.stop();
    results.set(outcome.result, (results.get(outcome.result) ?? 0) + 1);
    if (!slowest || outcome.ms > slowest.ms) slowest = { label, ms: outcome.ms };
    if (outcome.violation) failures.push({ id, mutation: `${basename(victim)}: ${mutation.detail}`, result: outcome.result, problem: outcome.violation });
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir);
    if (victim !== seed.path) {
      rmSync(join(folder, basename(victim)));
      copyFileSync(victim, join(folder, basename(victim)));
    }
  }
  return { failures, results, slowest };
}

/**
 * The mutation suite over the seeds whose index % shards === shard, so CI can spread it over
 * cores as separate test files.
 */
export function defineMutationSuite(shard: number, shards: number): void {
  describe(`mutated real files end in a result or a WeightbridgeError (shard ${shard + 1}/${shards})`, () => {
    let work: string;
    let seeds: Seed[] = [];
    let watchdog: Watchdog;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "wb-fuzz-"));
      watchdog = new Watchdog();
      seeds = [...(await findSeeds(settings.maxSeedBytes)), ...(await generatedSeeds(work))];
    });
    afterAll(async () => {
      await watchdog?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test("the seed corpus covers every registered readable format", () => {
      const covered = new Set(seeds.map((s) => s.format));
      expect(readableFormats().filter((f) => !covered.has(f))).toEqual([]);
    });

    test("every mutation ends cleanly", { timeout: 600_000 }, async () => {
      const mine = seeds.filter((_, i) => i % shards === shard);
      const perSeed = Math.max(1, Math.ceil(settings.cases / seeds.length));
      const failures: CaseFailure[] = [];
      const totals = new Map<string, number>();
      let slowest: { label: string; ms: number } | undefined;
      for (const seed of mine) {
        const { failures: f, results, slowest: s } = await fuzzSeed(seed, perSeed, work, watchdog);
        failures.push(...f);
        for (const [k, v] of results) totals.set(k, (totals.get(k) ?? 0) + v);
        if (s && (!slowest || s.ms > slowest.ms)) slowest = s;
      }
      if (process.env.FUZZ_VERBOSE) {
        // Information for whoever profiles readers, never a verdict: timings depend on the machine's load.
        console.log(`shard ${shard + 1}: ${mine.length} seeds x ${perSeed} cases`, Object.fromEntries(totals));
        if (slowest) console.log(`shard ${shard + 1}: slowest case ${Math.round(slowest.ms)} ms: ${slowest.label}`);
      }
      expect(failures.map((f) => `${f.id} [${f.mutation}] → ${f.result}: ${f.problem}`)).toEqual([]);
    });

    test.skipIf(!existsSync(CLI))("a sample through the CLI: exit 0, or exit 1 with one error line and no output", { timeout: 300_000 }, async () => {
      // One seed in FUZZ_CLI_EVERY of this shard: each CLI run costs a process start.
      const mine = seeds.filter((_, i) => i % shards === shard).filter((_, i) => i % settings.cliEvery === 0);
      const problems: string[] = [];
      for (const seed of mine) {
        // Case numbers past the in-process range, so the CLI sees different damage.
        const n = Math.max(1, Math.ceil(settings.cases / seeds.length)) + 1;
        const folder = mkdtempSync(join(work, "cli-"));
        const originals = new Map([seed.path, ...seed.siblings].map((p) => [p, new Uint8Array(readFileSync(p))]));
        const { victim, mutation } = buildCase(seed, n, originals);
        for (const p of [seed.path, ...seed.siblings]) writeFileSync(join(folder, basename(p)), p === victim ? mutation.bytes : originals.get(p)!);
        const out = join(folder, "out.safetensors");
        const result = runCli(["convert", join(folder, basename(seed.path)), out], { timeout: settings.hangMs });
        const lines = result.stderr.trim().split("\n");
        const label = `${seed.id}#${n} (${mutation.detail})`;
        if (result.code === 1) {
          if (lines.length !== 1 || !lines[0]!.startsWith("weightbridge: error: ")) problems.push(`${label}: stderr ${JSON.stringify(result.stderr)}`);
          if (readdirSync(folder).some((f) => f.includes("out.safetensors"))) problems.push(`${label}: output left after an error`);
        } else if (result.code !== 0) problems.push(`${label}: exit ${result.code}: ${result.stderr.slice(0, 300)}`);
      }
      expect(problems).toEqual([]);
    });
  });
}
