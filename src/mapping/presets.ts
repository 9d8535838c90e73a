import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { WeightbridgeError } from "../errors.js";
import { SchemaChecker, type Schema } from "./schema-check.js";
import type { RuleSet } from "./types.js";
import torch2keras from "./presets/torch2keras.json" with { type: "json" };
import keras2torch from "./presets/keras2torch.json" with { type: "json" };
import torch2paddle from "./presets/torch2paddle.json" with { type: "json" };
import paddle2torch from "./presets/paddle2torch.json" with { type: "json" };
import onnx2torch from "./presets/onnx2torch.json" with { type: "json" };
import tflite2torch from "./presets/tflite2torch.json" with { type: "json" };
import tflite2keras from "./presets/tflite2keras.json" with { type: "json" };
import torch2tflite from "./presets/torch2tflite.json" with { type: "json" };
import keras2tflite from "./presets/keras2tflite.json" with { type: "json" };
import gguf2hf from "./presets/gguf2hf.json" with { type: "json" };
import hf2gguf from "./presets/hf2gguf.json" with { type: "json" };
import { packageFile } from "../util/package-root.js";

const BASE: Record<string, RuleSet> = {
  torch2keras: torch2keras as RuleSet,
  keras2torch: keras2torch as RuleSet,
  torch2paddle: torch2paddle as RuleSet,
  paddle2torch: paddle2torch as RuleSet,
  onnx2torch: onnx2torch as RuleSet,
  tflite2torch: tflite2torch as RuleSet,
  tflite2keras: tflite2keras as RuleSet,
  torch2tflite: torch2tflite as RuleSet,
  keras2tflite: keras2tflite as RuleSet,
  gguf2hf: gguf2hf as RuleSet,
  hf2gguf: hf2gguf as RuleSet,
};

/** Presets with no rules of their own: the named preset is run backwards on the --template they need. */
const INVERSES: Record<string, string> = { torch2tflite: "tflite2torch", keras2tflite: "tflite2keras" };

/** Presets that are chains of others (Keras ⇄ Paddle goes through PyTorch's conventions). */
const CHAINS: Record<string, string[]> = {
  keras2paddle: ["keras2torch", "torch2paddle"],
  paddle2keras: ["paddle2torch", "torch2keras"],
};

export function presetNames(): string[] {
  return [...Object.keys(BASE), ...Object.keys(CHAINS)].sort();
}

export interface LoadedRuleSet {
  set: RuleSet;
  /** Shown in rule ids of the report: the preset name or the rule file's base name. */
  label: string;
}

let checker: SchemaChecker | undefined;

/** The checker for schemas/mapping-rules.schema.json (read once, beside src/ and dist/). */
export function ruleSchemaChecker(): SchemaChecker {
  if (!checker) {
    const url = packageFile("schemas/mapping-rules.schema.json");
    checker = new SchemaChecker(JSON.parse(readFileSync(url, "utf8")) as Schema);
  }
  return checker;
}

/** Validates parsed JSON as a rule set; throws one `mapping` error listing the first problems. */
export function validateRuleSet(value: unknown, where: string): RuleSet {
  const errors = ruleSchemaChecker().check(value);
  if (errors.length) {
    const more = errors.length > 3 ? ` (and ${errors.length - 3} more)` : "";
    throw new WeightbridgeError("mapping", `${where} is not a valid rule file: ${errors.slice(0, 3).join("; ")}${more}`, { file: where });
  }
  return value as RuleSet;
}

async function loadFile(path: string): Promise<LoadedRuleSet> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const known = presetNames().join(", ");
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such preset or file" : (e as Error).message;
    throw new WeightbridgeError("usage", `--map '${path}': ${reason} (presets: ${known})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WeightbridgeError("mapping", `rule file is not JSON: ${(e as Error).message}`, { file: path });
  }
  const set = validateRuleSet(json, path);
  return { set, label: set.name ?? basename(path).replace(/\.json$/i, "") };
}

/**
 * Resolves `--map` values (preset names or rule-file paths; each may be a comma-separated
 * list; repeated values chain) into rule sets applied in order.
 */
export async function loadRuleSets(map: string | readonly string[] | undefined): Promise<LoadedRuleSet[]> {
  const specs = (Array.isArray(map) ? map : map === undefined ? [] : [map])
    .flatMap((m: string) => m.split(","))
    .map((s: string) => s.trim())
    .filter((s: string) => s !== "");
  const out: LoadedRuleSet[] = [];
  for (const spec of specs) {
    const chain = CHAINS[spec];
    if (chain) out.push(...chain.map((name) => ({ set: BASE[name]!, label: name })));
    else if (BASE[spec]) out.push({ set: BASE[spec]!, label: spec });
    else out.push(await loadFile(spec));
  }
  return out;
}

/** A preset's rule set by name (for tests and tooling). */
export function presetRuleSet(name: string): RuleSet | undefined {
  return BASE[name];
}

/** What a preset is, for `weightbridge presets`: its conventions, what it says it does, the layer kinds its rules name. */
export interface PresetInfo {
  name: string;
  from: string;
  to: string;
  description: string;
  rules: number;
  kinds: string[];
  /** For a chain: the presets it runs in order. */
  chain?: string[];
  /** For a preset that lays weights out as a --template's tensors: the preset it runs backwards. */
  inverseOf?: string;
}

export function presetInfo(): PresetInfo[] {
  const one = (name: string): PresetInfo => {
    const set = BASE[name]!;
    const kinds = new Set<string>();
    for (const rule of set.rules) for (const k of [rule.match?.kind ?? []].flat()) kinds.add(k);
    // The description's first sentence; the rest points at reference notes, not for users.
    const description = (set.description ?? "").replace(/\s*Facts:.*$/, "").trim();
    // A set that declares no convention is named after its ends (gguf2hf).
    const [fromName, toName] = name.split("2");
    const info: PresetInfo = {
      name,
      from: set.from ?? fromName ?? "?",
      to: set.to ?? toName ?? "?",
      description,
      rules: set.rules.length,
      kinds: [...kinds].sort(),
    };
    if (INVERSES[name]) info.inverseOf = INVERSES[name];
    return info;
  };
  return presetNames().map((name) => {
    const chain = CHAINS[name];
    if (!chain) return one(name);
    const parts = chain.map(one);
    return {
      name,
      from: parts[0]!.from,
      to: parts.at(-1)!.to,
      description: `${chain.join(", then ")}: through PyTorch's conventions`,
      rules: parts.reduce((n, p) => n + p.rules, 0),
      kinds: [...new Set(parts.flatMap((p) => p.kinds))].sort(),
      chain,
    };
  });
}
