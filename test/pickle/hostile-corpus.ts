/**
 * The scanners' own hostile corpus (fixtures/pickle/hostile-corpus/: picklescan's and modelscan's
 * test data with the verdicts their tests expect, manifest.json) and the ways a test wraps it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { torchZip } from "../fuzz/hostile-pickles.js";
import { fixture } from "../helpers/fixtures.js";

export const CORPUS = fixture("pickle", "hostile-corpus");

export type Verdict = "dangerous" | "safe" | "not-a-pickle" | "cannot-look-inside";

export interface CorpusFile {
  file: string;
  from: string;
  verdict: Verdict;
  /** The globals upstream's tests call dangerous, spelled as upstream spells them. */
  dangerous: string[];
}

export const corpus: CorpusFile[] = (JSON.parse(readFileSync(join(CORPUS, "manifest.json"), "utf8")) as { files: CorpusFile[] }).files;

export const corpusBytes = (f: CorpusFile): Uint8Array => new Uint8Array(readFileSync(join(CORPUS, f.file)));

/** Upstream names as weightbridge reports them (Python 2 module names are canonical Python 3 ones). */
export function canonicalName(name: string): string {
  return name.replace(/^__builtin__\./, "builtins.").replace(/^copy_reg\./, "copyreg.");
}

const PROTO = 0x80;
/** Bare pickles of the corpus (not zips, archives, .npy or legacy torch streams): what can go into a torch zip as data.pkl. */
export function isBarePickle(bytes: Uint8Array): boolean {
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  const npy = bytes[0] === 0x93 && bytes[1] === 0x4e;
  const sevenZ = bytes[0] === 0x37 && bytes[1] === 0x7a;
  const legacyTorch = bytes[0] === PROTO && bytes[2] === 0x8a && bytes[3] === 0x0a; // LONG1 of torch's magic number
  return !zip && !npy && !sevenZ && !legacyTorch && (bytes[0] === PROTO || bytes[0]! < 0x80);
}

/** The corpus pickle as the data.pkl record of a torch.save zip. */
export const zipped = (bytes: Uint8Array): Promise<Uint8Array> => torchZip(bytes);
