import type { CommandModule } from "yargs";
import { convert, type CastTarget } from "../api/convert.js";
import type { FormatId } from "../formats/types.js";
import { progressReporter } from "./output.js";

interface Args {
  in: string;
  out: string;
  to?: string;
  from?: string;
  select?: string;
  dtype?: string;
  template?: string;
  strict: boolean;
  force: boolean;
  report?: string;
  "external-data": boolean;
  "pickle-protocol"?: number;
}

export const convertCommand: CommandModule<object, Args> = {
  command: "convert <in> <out>",
  describe: "Convert a model file to another format",
  builder: (y) =>
    y
      .positional("in", { type: "string", demandOption: true, describe: "input model file" })
      .positional("out", { type: "string", demandOption: true, describe: "output file (format from its name unless --to)" })
      .option("to", { type: "string", describe: "output format id (see `weightbridge formats`)" })
      .option("from", { type: "string", describe: "input format id (default: detected from the bytes)" })
      .option("select", { type: "string", describe: "take one subtree as the root, e.g. model_state_dict" })
      .option("dtype", { type: "string", choices: ["float16", "bfloat16", "float32"], describe: "cast floating tensors" })
      .option("template", { type: "string", describe: "a target-framework file whose names/order/graph to follow" })
      .option("strict", { type: "boolean", default: false, describe: "fail on any unmatched or missing tensor" })
      .option("force", { type: "boolean", default: false, describe: "replace an existing output file" })
      .option("report", { type: "string", describe: "write a JSON report of the conversion here" })
      .option("external-data", { type: "boolean", default: false, describe: "ONNX: put tensor data in a side file" })
      .option("pickle-protocol", { type: "number", describe: "pickle protocol for .pdparams output (2 or 4)" }),
  handler: async (args) => {
    const report = await convert(args.in, args.out, {
      to: args.to as FormatId | undefined,
      from: args.from as FormatId | undefined,
      select: args.select,
      dtype: args.dtype as CastTarget | undefined,
      template: args.template,
      strict: args.strict,
      force: args.force,
      report: args.report,
      externalData: args["external-data"],
      pickleProtocol: args["pickle-protocol"],
      onProgress: progressReporter(`writing ${args.out}`),
    });
    for (const w of report.warnings) process.stderr.write(`weightbridge: warning: ${w}\n`);
    if (process.stderr.isTTY) {
      process.stderr.write(`${report.from} → ${report.to}: ${report.tensors.length} tensors written to ${args.out}\n`);
    }
  },
};
