import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "vitest";
import { findSeeds } from "./corpus.js";
import { buildCase, generatedSeeds, settings } from "./suite.js";
import { runCase } from "./run-case.js";

/**
 * Replays one fuzz case and keeps its files for debugging:
 *   FUZZ_REPRO='fixtures/pytorch/gan.pt#17' [FUZZ_SEED=1] npx vitest run test/fuzz/repro.replay.ts
 */
const wanted = process.env.FUZZ_REPRO;

test("replay one fuzz case", { timeout: 600_000 }, async () => {
  const [seedId, n] = wanted!.split("#") as [string, string];
  const folder = mkdtempSync(join(tmpdir(), "wb-fuzz-repro-"));
  const seeds = [...(await findSeeds(Infinity)), ...(await generatedSeeds(folder))];
  const seed = seeds.find((s) => s.id === seedId);
  if (!seed) throw new Error(`no seed '${seedId}' (known: ${seeds.map((s) => s.id).join(", ")})`);
  const originals = new Map([seed.path, ...seed.siblings].map((p) => [p, new Uint8Array(readFileSync(p))]));
  const { victim, mutation } = buildCase(seed, Number(n), originals);
  for (const sibling of seed.siblings) if (sibling !== victim) copyFileSync(sibling, join(folder, basename(sibling)));
  writeFileSync(join(folder, basename(victim)), mutation.bytes);
  if (victim !== seed.path) writeFileSync(join(folder, basename(seed.path)), originals.get(seed.path)!);
  mkdirSync(join(folder, "out"));
  console.log(`seed ${settings.seed}, ${wanted}: ${basename(victim)}: ${mutation.detail}\nfiles in ${folder}`);
  console.log(await runCase(join(folder, basename(seed.path)), join(folder, "out")));
});
