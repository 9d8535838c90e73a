import type { CommandModule } from "yargs";
import { diff } from "../api/diff.js";
import type { FormatId } from "../formats/index.js";
import { withStdinAsFile } from "./stdio.js";
import { progressReporter } from "./progress.js";
import { diffLines } from "./diff-text.js";

import { lastOf, listOf } from "./args.js";

interface Args {
  a: string;
  b: string;
  map?: string | string[];
  "strip-prefix"?: string | string[];
  "add-prefix"?: string;
  layer?: string | string[];
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
    y
      .positional("a", { type: "string", demandOption: true, describe: "first model file (mapped with --map)" })
      .positional("b", { type: "string", demandOption: true, describe: "second model file" })
      .option("map", { type: "string", describe: "mapping preset or rules.json applied to A; repeat or comma-separate to chain" })
      .option("strip-prefix", { type: "string", describe: "remove this prefix from source names before mapping (e.g. module.); repeatable" })
      .option("add-prefix", { type: "string", describe: "put this prefix on every source name before mapping" })
      .option("layer", { type: "string", describe: "REGEX=KIND: the layer kind of matching source tensors (linear, conv2d, lstm ...); repeatable" })
      .option("atol", { type: "number", describe: "absolute tolerance for floating tensors (default: bit-exact)" })
      .option("rtol", { type: "number", describe: "relative tolerance for floating tensors (default: bit-exact)" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON object" })
      .option("from-a", { type: "string", describe: "read A as this format" })
      .option("from-b", { type: "string", describe: "read B as this format" })
      .option("select", { type: "string", describe: "compare one subtree of both, e.g. model_state_dict" })
      .example("$0 diff a.safetensors b.safetensors", "bit-exact comparison")
      .example("$0 diff model.pth model.h5 --map torch2keras --rtol 1e-6", "compare across frameworks"),
  handler: async (args) => {
    const result = await withStdinAsFile([args.a, args.b], ([a, b]) => diff(a!, b!, {
      map: args.map,
      stripPrefix: args["strip-prefix"],
      addPrefix: lastOf(args["add-prefix"]),
      layers: listOf(args.layer),
      atol: args.atol,
      rtol: args.rtol,
      fromA: args["from-a"] as FormatId | undefined,
      fromB: args["from-b"] as FormatId | undefined,
      select: args.select,
      onProgress: progressReporter(`comparing ${args.a} and ${args.b}`),
    }));
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${diffLines(result).join("\n")}\n`);
    process.exitCode = result.equal ? 0 : 1;
  },
};
