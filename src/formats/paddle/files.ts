import { basename } from "node:path";
import type { ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";

/** The parts of an inference model: `<stem>.pdmodel|.json` + `<stem>.pdiparams` (+ `.pdiparams.info`). */
const SUFFIXES = [".pdiparams.info", ".pdiparams", ".pdmodel", ".json"];

export function stemOf(name: string): string | undefined {
  const base = basename(name);
  for (const s of SUFFIXES) if (base.toLowerCase().endsWith(s) && base.length > s.length) return base.slice(0, -s.length);
  return undefined;
}

/** Opens the first sibling that exists, or undefined (missing siblings are not errors here). */
export async function openFirstSibling(source: ByteSource, names: string[]): Promise<ByteSource | undefined> {
  if (!source.sibling) return undefined;
  for (const name of names) {
    try {
      return await source.sibling(name);
    } catch (e) {
      // Missing or unreadable: try the next name; a pipe or device there is refused, not skipped.
      if (e instanceof WeightbridgeError && e.code === "io" && !/not a regular file/.test(e.message)) continue;
      throw e;
    }
  }
  return undefined;
}

/** Sibling names holding the program for a params file. */
export function programNamesFor(paramsName: string): string[] {
  const base = basename(paramsName);
  const stem = stemOf(base);
  if (stem !== undefined) return [`${stem}.pdmodel`, `${stem}.json`];
  if (base === "__params__" || base === "params") return ["__model__", "model"];
  return [];
}

/** Sibling names holding the params for a program file. */
export function paramsNamesFor(programName: string): string[] {
  const base = basename(programName);
  const stem = stemOf(base);
  if (stem !== undefined) return [`${stem}.pdiparams`];
  if (base === "__model__" || base === "model") return ["__params__", "params"];
  return [];
}

export function infoNameFor(name: string): string | undefined {
  const stem = stemOf(basename(name));
  return stem === undefined ? undefined : `${stem}.pdiparams.info`;
}
