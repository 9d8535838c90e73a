import type { LayerHint } from "../tensor/tensor.js";
import type { CommandModule } from "yargs";
import { inspect } from "../api/inspect.js";
import { UsageError } from "./output.js";
import { inspectionText } from "./inspect-table.js";
import { withStdinAsFile } from "./stdio.js";
import { sourceOptions, withJsonOption, withSourceOptions, type SourceArgs } from "./options.js";
import { lastOf } from "./args.js";

interface Args extends SourceArgs {
  file: string;
  json: boolean;
  filter?: string;
  tree: boolean;
  meta?: string;
  stats: boolean;
  quiet?: boolean;
}

export const inspectCommand: CommandModule<object, Args> = {
  command: "inspect <file>",
  describe: "List a model file's tensors (name, dtype, shape, size) and metadata",
  builder: (y) =>
    withJsonOption(withSourceOptions(y))
      .positional("file", { type: "string", demandOption: true, describe: "model file" })
      .option("filter", { type: "string", describe: "show only tensors whose full name matches this regular expression" })
      .option("tree", { type: "boolean", default: false, describe: "show the module/layer tree instead of the table" })
      .option("stats", { type: "boolean", default: false, describe: "each tensor's min, max, mean, std and NaN/Inf counts (reads every value, streamed)" })
      .option("meta", { type: "string", describe: "print one meta value whole, as JSON (e.g. model_config)" })
      .example("$0 inspect model.pt", "tensor table, totals and metadata")
      .example("$0 inspect ckpt.pt --json --select model_state_dict", "one subtree as JSON")
      .example("$0 inspect model.pt --filter 'layer4\\.' --tree", "part of a model, as a tree")
      .example("$0 inspect model.h5 --meta model_config", "a Keras model's whole config"),
  handler: async (args) => {
    const result = await withStdinAsFile([args.file], ([file]) => inspect(file!, { format: sourceOptions(args).from, select: args.select, stats: args.stats }));
    // Warnings are for the person at the terminal, as convert's are: stderr, prefixed.
    if (!args.quiet) for (const w of result.warnings) process.stderr.write(`weightbridge: warning: ${w}\n`);
    if (args.meta !== undefined) {
      const key = lastOf(args.meta)!;
      if (!Object.hasOwn(result.meta, key)) {
        const keys = Object.keys(result.meta);
        throw new UsageError(`--meta: this file's meta has no key '${key}' (${keys.length ? `it has ${keys.join(", ")}` : "it has none"})`);
      }
      process.stdout.write(`${JSON.stringify(result.meta[key], null, 2)}\n`);
      return;
    }
    const filter = args.filter === undefined ? undefined : regexOf(args.filter);
    const tensors = filter ? result.tensors.filter((t) => filter.test(t.name)) : result.tensors;
    if (args.json) {
      const json = {
        format: result.format,
        // role and layer (kind, framework class, module path) show what mapping rules see.
        tensors: tensors.map((t) => ({
          name: t.name,
          dtype: t.dtype,
          shape: t.shape,
          ...(t.storedDtype ? { stored: t.storedDtype } : {}),
          ...(t.role ? { role: t.role } : {}),
          ...(t.layer ? { layer: layerOf(t.layer) } : {}),
          // JSON has no infinities: an infinite min or max is the string "Infinity" / "-Infinity".
          ...(t.stats ? { stats: { ...t.stats, min: jsonNumber(t.stats.min), max: jsonNumber(t.stats.max) } } : {}),
        })),
        meta: result.meta,
        ...(result.warnings.length ? { warnings: result.warnings } : {}),
      };
      process.stdout.write(`${JSON.stringify(json)}\n`);
      return;
    }
    process.stdout.write(`${inspectionText(result, tensors, { tree: args.tree, filtered: filter !== undefined }).join("\n")}\n`);
  },
};

function jsonNumber(x: number | undefined): number | string | undefined {
  return x === undefined || Number.isFinite(x) ? x : String(x);
}

function regexOf(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new UsageError(`--filter: not a regular expression: ${(e as Error).message}`);
  }
}

function layerOf(hint: LayerHint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (hint.kind) out.kind = hint.kind;
  if (hint.className) out.className = hint.className;
  if (hint.path !== undefined) out.path = hint.path;
  return out;
}
