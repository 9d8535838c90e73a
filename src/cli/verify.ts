import type { CommandModule } from "yargs";
import { verify } from "../api/verify.js";
import { verifyTable } from "./verify-table.js";
import type { FormatId } from "../formats/index.js";
import { lastOf, listOf } from "./args.js";

interface Args {
  source: string;
  converted: string;
  map?: string | string[];
  template?: string;
  "strip-prefix"?: string | string[];
  "add-prefix"?: string;
  layer?: string | string[];
  rtol?: number;
  seed?: number;
  json: boolean;
  from?: string;
  select?: string;
  "keras-config"?: string;
}

export const verifyCommand: CommandModule<object, Args> = {
  command: "verify <source> <converted>",
  describe: "Check a conversion numerically, layer by layer (exit 0 when every checkable layer agrees, 1 otherwise)",
  builder: (y) =>
    y
      .positional("source", { type: "string", demandOption: true, describe: "the file that was converted" })
      .positional("converted", { type: "string", demandOption: true, describe: "what the conversion wrote" })
      .option("map", { type: "string", describe: "the mapping preset(s) or rules.json the conversion used" })
      .option("template", { type: "string", describe: "the template the conversion followed" })
      .option("strip-prefix", { type: "string", describe: "as given to convert; repeatable" })
      .option("add-prefix", { type: "string", describe: "as given to convert" })
      .option("layer", { type: "string", describe: "REGEX=KIND[(NAME=VALUE, ...)] as given to convert; repeatable" })
      .option("rtol", { type: "number", describe: "relative tolerance (default 1e-5; 5e-3 with float16, 3e-2 with bfloat16 weights)" })
      .option("seed", { type: "number", describe: "seed of the random inputs (default 0)" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON object with every row" })
      .option("from", { type: "string", describe: "read SOURCE as this format" })
      .option("select", { type: "string", describe: "the subtree of SOURCE that was converted" })
      .option("keras-config", { type: "string", describe: "the model's config JSON (model.to_json()) for a Keras save_weights SOURCE, as given to convert" })
      .example("$0 verify model.pth model.h5 --map torch2keras", "prove a torch → Keras conversion")
      .example("$0 verify model.pth model.onnx --template exported.onnx --json", "rows as JSON")
      .example("$0 verify trained.onnx reweighted.onnx --template default.onnx", "layers, then the whole model run by onnxruntime-node"),
  handler: async (args) => {
    const result = await verify(args.source, args.converted, {
      map: args.map,
      template: lastOf(args.template),
      stripPrefix: args["strip-prefix"],
      addPrefix: lastOf(args["add-prefix"]),
      layers: listOf(args.layer),
      rtol: args.rtol,
      seed: args.seed,
      from: args.from as FormatId | undefined,
      select: args.select,
      kerasConfig: lastOf(args["keras-config"]),
    });
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${verifyTable(result).join("\n")}\n`);
    process.exitCode = result.ok ? 0 : 1;
  },
};
