import type { CommandModule } from "yargs";
import { verify } from "../api/verify.js";
import { verifyTable } from "./verify-table.js";
import { lastOf, numberFlag } from "./args.js";
import {
  mappingOptions,
  sourceOptions,
  withJsonOption,
  withKerasConfigOption,
  withMappingOptions,
  withSourceOptions,
  type MappingArgs,
  type SourceArgs,
} from "./options.js";

interface Args extends MappingArgs, SourceArgs {
  source: string;
  converted: string;
  template?: string;
  rtol?: number;
  seed?: number;
  json: boolean;
  "keras-config"?: string;
}

export const verifyCommand: CommandModule<object, Args> = {
  command: "verify <source> <converted>",
  describe: "Check a conversion numerically, layer by layer (exit 0 when every checkable layer agrees, 1 otherwise)",
  builder: (y) =>
    withJsonOption(withKerasConfigOption(withSourceOptions(withMappingOptions(y))), "print one JSON object with every row")
      .positional("source", { type: "string", demandOption: true, describe: "the file that was converted" })
      .positional("converted", { type: "string", demandOption: true, describe: "what the conversion wrote" })
      .option("template", { type: "string", describe: "the template the conversion followed" })
      .option("rtol", {
        type: "number",
        coerce: numberFlag("rtol", { min: 0 }),
        describe: "relative tolerance (default 1e-5; 5e-3 with float16, 3e-2 with bfloat16 weights)",
      })
      .option("seed", { type: "number", coerce: numberFlag("seed", { min: 0, integer: true }), describe: "seed of the random inputs (default 0)" })
      .example("$0 verify model.pth model.h5 --map torch2keras", "prove a torch → Keras conversion")
      .example("$0 verify model.pth model.onnx --template exported.onnx --json", "rows as JSON")
      .example("$0 verify trained.onnx reweighted.onnx --template default.onnx", "layers, then the whole model run by onnxruntime-node"),
  handler: async (args) => {
    const result = await verify(args.source, args.converted, {
      ...mappingOptions(args),
      template: lastOf(args.template),
      rtol: args.rtol,
      seed: args.seed,
      ...sourceOptions(args),
      kerasConfig: lastOf(args["keras-config"]),
    });
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${verifyTable(result).join("\n")}\n`);
    process.exitCode = result.ok ? 0 : 1;
  },
};
