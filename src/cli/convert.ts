import { WeightbridgeError } from "../errors.js";
import { QUANTIZE_TO } from "../formats/gguf/options.js";
import type { CommandModule } from "yargs";
import { convert, type CastTarget } from "../api/convert.js";
import { type FormatId, knownFormat } from "../formats/index.js";
import { endProgressLines, progressReporter, type ProgressCallback } from "./progress.js";
import { summarizeMapping } from "./mapping-summary.js";
import { batchPlan, plainTarget, runBatch } from "./convert-batch.js";
import { outputBytes, planLines, successLine } from "./convert-output.js";
import { severalFiles, STDIO, withStdinAsFile, withStdoutAsFile } from "./stdio.js";
import { UsageError } from "./output.js";
import { formats } from "../api/formats.js";

import { DTYPE_CHOICES, dtypeOf, lastOf, numberFlag } from "./args.js";
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
  in: string;
  out: string;
  more?: string[];
  to?: string;
  dtype?: string;
  template?: string;
  "keras-config"?: string;
  "hf-config"?: string;
  "keep-unmapped": boolean;
  dequantize?: boolean;
  "allow-drop": boolean;
  "keep-template-values": boolean;
  strict: boolean;
  force: boolean;
  report?: string;
  "external-data": boolean;
  "pickle-protocol"?: number;
  quantize?: string;
  "max-shard-size"?: string;
  "adam-betas"?: string;
  json: boolean;
  quiet?: boolean;
  verify?: boolean;
  "verify-rtol"?: number;
  "weights-only": boolean;
  opset?: number;
  "inputs-channels-first": boolean;
  "dry-run": boolean;
}

export const convertCommand: CommandModule<object, Args> = {
  command: "convert <in> <out> [more..]",
  describe: "Convert a model file to another format (several files: convert A B C OUTDIR --to FORMAT)",
  builder: (y) =>
    withJsonOption(withKerasConfigOption(withMappingOptions(withSourceOptions(y))), "print the conversion report as JSON on stdout")
      .positional("in", { type: "string", demandOption: true, describe: "input model file" })
      .positional("out", { type: "string", demandOption: true, describe: "output file (format from its name unless --to); - for standard output" })
      .positional("more", { type: "string", array: true, describe: "more inputs: the last path is then the output folder" })
      .option("to", { alias: "t", type: "string", describe: "output format id (see `weightbridge formats`)" })
      .option("dtype", { type: "string", choices: DTYPE_CHOICES, coerce: dtypeOf, describe: "cast floating tensors (fp16, bf16, fp32 accepted)" })
      .option("keep-unmapped", { type: "boolean", default: false, describe: "write tensors no mapping rule places under their own names instead of failing" })
      .option("hf-config", {
        type: "string",
        describe: "GGUF output: the model's Hugging Face config.json (architecture keys, head counts; default: config.json beside the input)",
      })
      .option("dequantize", { type: "boolean", describe: "TFLite: quantized weights become float32 (q - zero_point) * scale (default with --map tflite2*)" })
      .option("allow-drop", {
        type: "boolean",
        default: false,
        describe: "convert although the input holds tensors that cannot be represented (listed as dropped) instead of failing",
      })
      .option("keep-template-values", {
        type: "boolean",
        default: false,
        describe: "re-weighting a --template (ONNX, TF checkpoint, TFLite): its weights the input gives no value keep the template's instead of failing",
      })
      .option("template", { type: "string", describe: "a target-framework file whose names/order/graph to follow" })
      .option("strict", {
        type: "boolean",
        default: false,
        describe: "fail unless every tensor is placed by a rule or evidence and nothing the template expects is missing",
      })
      .option("force", { alias: "f", type: "boolean", default: false, describe: "replace an existing output file" })
      .option("report", { type: "string", describe: "write a JSON report of the conversion here (- for standard output); an existing one needs --force" })
      .option("external-data", { type: "boolean", default: false, describe: "ONNX: put tensor data in a side file" })
      .option("max-shard-size", { type: "string", describe: "split output into shards (e.g. 5GB) plus an index.json" })
      .option("pickle-protocol", { type: "number", choices: [2, 4], describe: "pickle protocol for .pdparams output" })
      .option("quantize", {
        type: "string",
        choices: QUANTIZE_TO,
        describe: "GGUF output: quantize weight matrices to this ggml type (norms and vectors stay F32)",
      })
      .option("adam-betas", { type: "string", describe: "B1,B2: Adam's betas when a .pdopt becomes a torch optimizer state (default 0.9,0.999)" })
      .option("weights-only", { type: "boolean", default: false, describe: "ONNX from a Keras model: write the initializers alone, not the runnable graph" })
      .option("opset", { type: "number", describe: "ONNX opset of a runnable graph (13-17, default 17)" })
      .option("inputs-channels-first", { type: "boolean", default: false, describe: "runnable graph: image inputs [N,C,H,W] instead of Keras' [N,H,W,C]" })
      .option("dry-run", {
        alias: "n",
        type: "boolean",
        default: false,
        describe: "read and map, print the plan (each tensor's target, shape, dtype, transforms), write nothing",
      })
      .option("verify", {
        type: "boolean",
        describe:
          "check the output layer by layer against the input before it appears; fail (no output) if any layer disagrees (a Keras → ONNX graph is checked by default: --no-verify skips it)",
      })
      .option("verify-rtol", {
        type: "number",
        coerce: numberFlag("verify-rtol", { min: 0 }),
        describe: "relative tolerance for --verify (default 1e-5; looser for float16/bfloat16)",
      })
      .example("$0 convert model.pt model.safetensors", "PyTorch checkpoint to safetensors")
      .example("$0 convert ckpt.pt model.pt --select model_state_dict", "keep only the model of a training checkpoint")
      .example("$0 convert resnet.pth resnet.h5 --map torch2keras", "PyTorch to Keras, layouts and names mapped")
      .example("$0 convert model.pt model.onnx --template exported.onnx", "re-weight an exported ONNX graph")
      .example("$0 convert model.h5 model.onnx", "a Keras model to a runnable ONNX graph (no TensorFlow)")
      .example("$0 convert big.pt big.safetensors --dtype bf16 --max-shard-size 5GB", "cast and shard")
      .example("$0 convert a.pth b.pth checkpoints/ out/ --to safetensors", "a batch: files and folders into out/")
      .example("$0 convert model.pt - --to safetensors | ssh host 'cat > m.safetensors'", "write to standard output")
      .example("$0 convert resnet.pth resnet.h5 -m torch2keras -n", "show the mapping plan, write nothing"),
  handler: async (args) => {
    const paths = [args.in, args.out, ...(args.more ?? [])];
    const out = paths.pop()!;
    const plan = await batchPlan(paths, out, args.to);
    if (!plan) {
      const { input, output } = await plainTarget(paths[0]!, out, args.to);
      await convertOne(args, input, output, progressReporter(`writing ${output}`));
      return;
    }
    const progress = (i: number, output: string) =>
      progressReporter(`[${i + 1}/${plan.length}] writing ${output}`, process.stderr, { endLine: i === plan.length - 1 });
    process.exitCode = await runBatch(plan, (item, i) => convertOne(args, item.input, item.output, progress(i, item.output)), args.quiet === true);
  },
};

/** One conversion, `-` meaning standard input or output; warnings and the mapping summary go to stderr. */
async function convertOne(args: Args, input: string, out: string, onProgress: ProgressCallback | undefined): Promise<void> {
  const extension = args.to ? (formats().find((f) => f.id === args.to)?.extensions[0] ?? "") : "";
  if (out === STDIO && !args["dry-run"]) refuseSeveralFilesToStdout(args);
  const started = Date.now();
  const dryRun = args["dry-run"];
  const options = () => ({
    to: args.to as FormatId | undefined,
    ...sourceOptions(args),
    dtype: args.dtype as CastTarget | undefined,
    template: args.template,
    ...mappingOptions(args),
    kerasConfig: lastOf(args["keras-config"]),
    hfConfig: lastOf(args["hf-config"]),
    keepUnmapped: args["keep-unmapped"],
    dequantize: args.dequantize,
    allowDrop: args["allow-drop"],
    keepTemplateValues: args["keep-template-values"],
    strict: args.strict,
    force: args.force || out === STDIO,
    report: args.report === STDIO || dryRun ? undefined : args.report,
    formatOptions: { onnx: { externalData: args["external-data"] }, paddle: { pickleProtocol: args["pickle-protocol"] }, gguf: { quantize: args.quantize } },
    maxShardSize: args["max-shard-size"],
    adamBetas: betasOf(args["adam-betas"]),
    verify: dryRun ? undefined : args.verify ? { rtol: args["verify-rtol"] } : args.verify === false ? false : undefined,
    onProgress: out === STDIO || dryRun ? undefined : onProgress,
    weightsOnly: args["weights-only"],
    opset: args.opset,
    inputsChannelsFirst: args["inputs-channels-first"],
    dryRun,
  });
  const { report, bytes } = await withStdinAsFile([input], async ([inPath]) => {
    if (dryRun) return { report: await convert(inPath!, out === STDIO ? `stdout${extension}` : out, options()), bytes: undefined };
    return withStdoutAsFile(out, extension, async (outPath) => {
      const written = await convert(inPath!, outPath, options());
      return { report: written, bytes: await outputBytes(outPath) };
    });
  });
  if (dryRun && !args.json) process.stdout.write(`${planLines(report).join("\n")}\n`);
  if (args.json || args.report === STDIO) process.stdout.write(`${JSON.stringify(report)}\n`);
  if (args.quiet) return;
  endProgressLines();
  for (const w of report.warnings) process.stderr.write(`weightbridge: warning: ${w}\n`);
  const mapping = args.map !== undefined || args.template || args.layer !== undefined || report.prefixes || report.optimizer;
  if (mapping)
    for (const line of summarizeMapping(report, args.report === STDIO || dryRun ? undefined : args.report)) process.stderr.write(`weightbridge: ${line}\n`);
  if (report.verification) process.stderr.write(`weightbridge: verify: ${report.verification.summary}\n`);
  // A batch ends with its own summary line.
  if (!dryRun && !args.more?.length) process.stderr.write(`${successLine(report, out === STDIO ? "standard output" : out, bytes, Date.now() - started)}\n`);
}

/** Outputs that are more than one file, known before converting (stdio.ts checks what was written too). */
function refuseSeveralFilesToStdout(args: Args): void {
  if (!args.to) throw new UsageError("OUT '-' (standard output) needs --to FORMAT");
  if (args["max-shard-size"] !== undefined) throw severalFiles("--max-shard-size writes shards and an index");
  if (args["external-data"]) throw severalFiles("--external-data writes the tensor data beside OUT");
  const why = knownFormat(args.to)?.writesSeveralFiles;
  if (why) throw severalFiles(why);
}

function betasOf(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(",").map((p) => Number(p.trim()));
  if (parts.length !== 2 || parts.some((b) => !(b > 0 && b < 1))) {
    throw new WeightbridgeError("usage", `--adam-betas takes two numbers in (0, 1) like 0.9,0.999, not '${text}'`);
  }
  return [parts[0]!, parts[1]!];
}
