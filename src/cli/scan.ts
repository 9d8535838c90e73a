import type { CommandModule } from "yargs";
import { scan } from "../api/scan.js";
import { scanLines } from "./scan-text.js";
import { withStdinAsFile } from "./stdio.js";
import { withJsonOption } from "./options.js";

interface Args {
  file: string;
  json: boolean;
  verbose: boolean;
}

export const scanCommand: CommandModule<object, Args> = {
  command: "scan <file>",
  describe: "List every global the file's pickles reference and flag code-running ones (exit 1 if any; 3 if a part cannot be read)",
  builder: (y) =>
    withJsonOption(y)
      .positional("file", { type: "string", demandOption: true, describe: "model file (zip, legacy torch, pickle)" })
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "list every global, the known constructors and classes rebuilt as data too" })
      .example("$0 scan downloaded.pt", "exit 1 if any pickle could run code"),
  handler: async (args) => {
    const result = await withStdinAsFile([args.file], ([file]) => scan(file!));
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ...result, safe: result.verdict === "safe" || result.verdict === "none" })}\n`);
    } else {
      const lines = scanLines(result, args.verbose);
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    // main() turns this into the exit status: 1 when anything could run code, 3 when a part could
    // not be read or opened (nothing dangerous found, nothing shown safe either).
    process.exitCode = result.verdict === "dangerous" ? 1 : result.verdict === "unreadable" || result.verdict === "unsupported" ? 3 : 0;
  },
};
