import type { CommandModule } from "yargs";
import { diff } from "../api/diff.js";
import type { FormatId } from "../formats/index.js";
import { withStdinAsFile } from "./stdio.js";
import { progressReporter } from "./progress.js";
import { diffLines } from "./diff-text.js";
import { numberFlag } from "./args.js";
import { mappingOptions, withJsonOption, withMappingOptions, type MappingArgs } from "./options.js";

interface Args extends MappingArgs {
  a: string;
  b: string;
  atol?: number;
  rtol?: number;
  json: boolean;
  "from-a"?: string;
  "from-b"?: string;
  select?: string;
}

export const diffCommand: CommandModule<object, Args> = {
  command: "diff <a> <b>",
  describe: "Compare two model files tensor by tensor (exit 0 when equal, 1 when different)",
  builder: (y) =>
    withJsonOption(withMappingOptions(y))
      .positional("a", { type: "string", demandOption: true, describe: "first model file (mapped with --map)" })
      .positional("b", { type: "string", demandOption: true, describe: "second model file" })
      .option("atol", { type: "number", coerce: numberFlag("atol", { min: 0 }), describe: "absolute tolerance for floating tensors (default: bit-exact)" })
      .option("rtol", { type: "number", coerce: numberFlag("rtol", { min: 0 }), describe: "relative tolerance for floating tensors (default: bit-exact)" })
      .option("from-a", { type: "string", describe: "read A as this format" })
      .option("from-b", { type: "string", describe: "read B as this format" })
      .option("select", { type: "string", describe: "compare one subtree of both, e.g. model_state_dict" })
      .example("$0 diff a.safetensors b.safetensors", "bit-exact comparison")
      .example("$0 diff model.pth model.h5 --map torch2keras --rtol 1e-6", "compare across frameworks"),
  handler: async (args) => {
    const result = await withStdinAsFile([args.a, args.b], ([a, b]) =>
      diff(a!, b!, {
        ...mappingOptions(args),
        atol: args.atol,
        rtol: args.rtol,
        fromA: args["from-a"] as FormatId | undefined,
        fromB: args["from-b"] as FormatId | undefined,
        select: args.select,
        onProgress: progressReporter(`comparing ${args.a} and ${args.b}`),
      }),
    );
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${diffLines(result).join("\n")}\n`);
    process.exitCode = result.equal ? 0 : 1;
  },
};
