#!/usr/bin/env node
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { readFileSync } from "node:fs";
import { removeTemporaries } from "./cleanup.js";
import { errorJson, reportError, UsageError } from "./output.js";
import { endProgressLines, setProgressWanted } from "./progress.js";
import { isBrokenPipe, markStdio } from "./stdio.js";
import { inspectCommand } from "./inspect.js";
import { convertCommand } from "./convert.js";
import { formatsCommand } from "./formats.js";
import { scanCommand } from "./scan.js";
import { diffCommand } from "./diff.js";
import { verifyCommand } from "./verify.js";
import { serveCommand } from "./serve.js";
import { presetsCommand } from "./presets.js";
import { packageFile } from "../util/package-root.js";
import { setFlagsFromString } from "node:v8";

// V8 lets the old generation grow to up to 4x what survived the last full collection before the
// next one: 10^6 tiny tensors keep ~0.35 GB live and peaked at 1.2-1.5 GB. Growing 1.5x keeps that
// under 0.7 GB at the same CPU time (bench/RESULTS.md, issue 28). Read at every collection, so it
// applies from here on; the library leaves the embedding process's settings alone.
setFlagsFromString("--heap-growing-percent=50");

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    endProgressLines();
    removeTemporaries();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

// A reader that closed the pipe (`| head -c 10`) is done: stop writing and end quietly with the
// status a process killed by SIGPIPE has (128 + 13), as `cat` would, instead of an EPIPE error.
const BROKEN_PIPE_EXIT = 141;
let stdoutClosed = false;
process.stdout.on("error", (e) => {
  if (isBrokenPipe(e)) stdoutClosed = true;
  else throw e;
});

/** weightbridge's own version, from its package.json (not the one of the folder it runs in). */
function ownVersion(): string {
  const manifest = JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string };
  return manifest.version;
}

const COMMANDS = ["inspect", "convert", "diff", "verify", "scan", "formats", "presets", "serve", "help", "completion"];

/** `help convert` is `convert --help`. */
function helpAsFlag(argv: string[]): string[] {
  if (argv[0] !== "help") return argv;
  return argv.length > 1 ? [...argv.slice(1), "--help"] : ["--help"];
}

interface UsageInternals {
  getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?(): void } };
}

/**
 * yargs 18 renders the whole help text as it starts a command's handler (lib/command.js,
 * cacheHelpMessage), kept for a failure after it that shows help: 80-100 ms of text layout on
 * every run. Our .fail() never shows help and nothing calls showHelp(), so the text is never
 * used; --help and parse errors render their own. Without those internals this does nothing.
 */
function withoutHelpCache(parser: Argv): Argv {
  const usage = (parser as UsageInternals).getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === "function") usage.cacheHelpMessage = () => {};
  return parser;
}

export async function main(rawArgv: string[]): Promise<number> {
  const argv = markStdio(helpAsFlag(rawArgv));
  const debug = argv.includes("--debug");
  setProgressWanted(!argv.includes("--quiet") && !argv.includes("-q") && !argv.includes("--no-progress"));
  let exitCode = 0;
  try {
    await withoutHelpCache(yargs(argv))
      .scriptName("weightbridge")
      .usage("$0 <command> [options]\n\nConvert model weights between PyTorch, Keras, TensorFlow, PaddlePaddle, ONNX and safetensors.")
      .command(inspectCommand)
      .command(convertCommand)
      .command(formatsCommand)
      .command(presetsCommand)
      .command(scanCommand)
      .command(diffCommand)
      .command(verifyCommand)
      .command(serveCommand)
      .command(
        "help [command]",
        "Show help for a command",
        () => {},
        () => {},
      )
      .completion("completion", "Print a bash/zsh completion script (weightbridge completion >> ~/.bashrc)")
      .option("debug", { type: "boolean", default: false, describe: "print stack traces on errors" })
      .option("quiet", { alias: "q", type: "boolean", default: false, describe: "no progress, warnings or summaries on stderr (errors still)" })
      .option("progress", { type: "boolean", default: true, describe: "progress line on a terminal (--no-progress turns it off)" })
      .example("$0 inspect model.pt", "list a checkpoint's tensors")
      .example("$0 convert model.pt model.safetensors", "convert by the output's file name")
      .example("$0 convert resnet.pth resnet.pdparams --map torch2paddle", "convert between frameworks")
      .demandCommand(1, `name a command: ${COMMANDS.slice(0, 5).join(", ")} (weightbridge --help lists them)`)
      .recommendCommands()
      .strict()
      .help()
      .alias("help", "h")
      .version(ownVersion())
      .alias("version", "V")
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((message, error) => {
        // yargs reports its own parse errors (and ones thrown by an option's coerce) as YError.
        if (error && error.name !== "YError") throw error;
        if (error) throw new UsageError(`${error.message}\nrun 'weightbridge --help' for usage`);
        throw new UsageError(`${message}\nrun 'weightbridge --help' for usage`);
      })
      .parseAsync();
    // A command may report its outcome as an exit code (diff: 1 when different).
    if (typeof process.exitCode === "number") exitCode = process.exitCode;
  } catch (e) {
    if (isBrokenPipe(e) || stdoutClosed) return BROKEN_PIPE_EXIT;
    // Under --json a script reads stdout: the error is a JSON object there too.
    if (argv.slice(0, argv.indexOf("--") >>> 0).includes("--json")) process.stdout.write(`${JSON.stringify(errorJson(e))}\n`);
    exitCode = reportError(e, debug);
  }
  return stdoutClosed ? BROKEN_PIPE_EXIT : exitCode;
}

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
