import type { CommandModule } from "yargs";
import { presetInfo } from "../mapping/index.js";

/** A file name in each convention, for the examples. */
const EXAMPLE_FILE: Record<string, string> = {
  pytorch: "model.pt",
  keras: "model.h5",
  paddle: "model.pdparams",
  onnx: "model.onnx",
  tflite: "model.tflite",
  gguf: "model.gguf",
  hf: "model.safetensors",
};

export const presetsCommand: CommandModule<object, { json: boolean }> = {
  command: "presets",
  describe: "List the mapping presets (--map NAME): what each maps and an example",
  builder: (y) =>
    y
      .option("json", { type: "boolean", default: false, describe: "print one JSON array" })
      .example("$0 presets", "each preset, the layers it maps, an example"),
  handler: (args) => {
    const list = presetInfo();
    if (args.json) {
      process.stdout.write(`${JSON.stringify(list)}\n`);
      return;
    }
    const lines: string[] = [];
    for (const p of list) {
      lines.push(`${p.name}  ${p.from} → ${p.to}, ${p.rules} rules`);
      lines.push(`  ${p.description}`);
      if (p.kinds.length) lines.push(`  layer kinds its rules name: ${p.kinds.join(", ")}`);
      const [source, target] = [EXAMPLE_FILE[p.from] ?? "model", (EXAMPLE_FILE[p.to] ?? "out").replace("model", "converted")];
      const template = p.inverseOf ? ` --template ${EXAMPLE_FILE[p.to] ?? "model"}` : "";
      lines.push(`  e.g. weightbridge convert ${source} ${target} --map ${p.name}${template}`);
      lines.push("");
    }
    lines.push("Chain presets and rule files with commas (--map torch2keras,rules.json); a rule file follows schemas/mapping-rules.schema.json.");
    process.stdout.write(`${lines.join("\n")}\n`);
  },
};
