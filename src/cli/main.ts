#!/usr/bin/env node
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { unlinkSync } from "node:fs";
import { pendingTemporaries } from "../io/temporaries.js";
import { reportError, UsageError } from "./output.js";
import { inspectCommand } from "./inspect.js";
import { convertCommand } from "./convert.js";
import { formatsCommand } from "./formats.js";
import { scanCommand } from "./scan.js";
import { diffCommand } from "./diff.js";

function removeTemporaries(): void {
  for (const temp of pendingTemporaries()) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    removeTemporaries();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  let exitCode = 0;
  try {
    await yargs(argv)
      .scriptName("weightbridge")
      .usage("$0 <command> [options]\n\nConvert model weights between PyTorch, Keras, PaddlePaddle, ONNX and safetensors.")
      .command(inspectCommand)
      .command(convertCommand)
      .command(formatsCommand)
      .command(scanCommand)
      .command(diffCommand)
      .option("debug", { type: "boolean", default: false, describe: "print stack traces on errors" })
      .demandCommand(1, "name a command: inspect, convert, diff, scan or formats")
      .strict()
      .help()
      .version()
      .fail((message, error) => {
        if (error) throw error;
        throw new UsageError(`${message}\nrun 'weightbridge --help' for usage`);
      })
      .parseAsync();
    // A command may report its outcome as an exit code (diff: 1 when different).
    if (typeof process.exitCode === "number") exitCode = process.exitCode;
  } catch (e) {
    exitCode = reportError(e, debug);
  }
  return exitCode;
}

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
