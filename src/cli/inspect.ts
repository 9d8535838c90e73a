import type { LayerHint } from "../tensor/tensor.js";
import type { CommandModule } from "yargs";
import { inspect } from "../api/inspect.js";
import type { FormatId } from "../formats/types.js";
import { humanBytes } from "./output.js";

interface Args {
  file: string;
  json: boolean;
  from?: string;
  select?: string;
}

export const inspectCommand: CommandModule<object, Args> = {
  command: "inspect <file>",
  describe: "List a model file's tensors (name, dtype, shape, size) and metadata",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "model file" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON object" })
      .option("from", { type: "string", describe: "read as this format instead of detecting it" })
      .option("select", { type: "string", describe: "show only one subtree, e.g. model_state_dict" })
      .example("$0 inspect model.pt", "tensor table, totals and metadata")
      .example("$0 inspect ckpt.pt --json --select model_state_dict", "one subtree as JSON"),
  handler: async (args) => {
    const result = await inspect(args.file, { format: args.from as FormatId | undefined, select: args.select });
    if (args.json) {
      const json = {
        format: result.format,
        // role and layer (kind, framework class, module path) show what mapping rules will see.
        tensors: result.tensors.map((t) => ({
          name: t.name,
          dtype: t.dtype,
          shape: t.shape,
          ...(t.role ? { role: t.role } : {}),
          ...(t.layer ? { layer: layerOf(t.layer) } : {}),
        })),
        meta: result.meta,
        ...(result.warnings.length ? { warnings: result.warnings } : {}),
      };
      process.stdout.write(`${JSON.stringify(json)}\n`);
      return;
    }
    const rows = result.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(", ")}]`, humanBytes(t.bytes)]);
    const header = ["name", "dtype", "shape", "size"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
    const out: string[] = [`format: ${result.format}`, line(header), ...rows.map(line)];
    const total = result.tensors.reduce((n, t) => n + t.bytes, 0);
    const params = result.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    out.push(`${result.tensors.length} tensors, ${params.toLocaleString("en-US")} elements, ${humanBytes(total)}`);
    if (Object.keys(result.meta).length) out.push(`meta: ${JSON.stringify(result.meta).slice(0, 2000)}`);
    for (const w of result.warnings) out.push(`warning: ${w}`);
    process.stdout.write(`${out.join("\n")}\n`);
  },
};

function layerOf(hint: LayerHint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (hint.kind) out.kind = hint.kind;
  if (hint.className) out.className = hint.className;
  if (hint.path !== undefined) out.path = hint.path;
  return out;
}
