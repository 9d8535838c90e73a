import type { CommandModule } from "yargs";
import { scan, type ScanFinding } from "../api/scan.js";
import { withStdinAsFile } from "./stdio.js";

interface Args {
  file: string;
  json: boolean;
}

const VERDICT: Record<ScanFinding["status"], string> = {
  dangerous: "DANGEROUS: could run code (never executed by weightbridge)",
  unknown: "class rebuilt as data (never called)",
  known: "known constructor",
  "paddle-eval": "Paddle eval('name', {...}) lookup (data only)",
  unreadable: "UNREADABLE: cannot be shown safe",
  unsupported: "UNSUPPORTED: cannot look inside, so cannot be shown safe",
  structure: "STRUCTURE: a structural attack",
};

export const scanCommand: CommandModule<object, Args> = {
  command: "scan <file>",
  describe: "List every global the file's pickles reference and flag code-running ones (exit 1 if any)",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "model file (zip, legacy torch, pickle)" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON object" })
      .example("$0 scan downloaded.pt", "exit 1 if any pickle could run code"),
  handler: async (args) => {
    const result = await withStdinAsFile([args.file], ([file]) => scan(file!));
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ...result, safe: result.dangerous.length === 0 })}\n`);
    } else {
      const lines = result.findings.map((f) =>
        f.opcode === "-"
          ? `${result.file}:${f.pickle}: byte ${f.offset}: ${VERDICT[f.status]}: ${f.callable}`
          : `${result.file}:${f.pickle}: byte ${f.offset}: ${f.callable} (${f.opcode}): ${VERDICT[f.status]}${f.reason ? `: ${f.reason}` : ""}`);
      const globals = result.findings.filter((f) => f.opcode !== "-").length;
      const what = result.pickles.length === 0 && result.dangerous.length === 0
        ? "no pickles (nothing that could run code)"
        : `${result.pickles.length} pickle(s), ${globals} global(s), ${result.dangerous.length} dangerous`;
      lines.push(`${result.file}: ${what}`);
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    // main() turns this into the exit status: 1 when anything could run code.
    process.exitCode = result.dangerous.length > 0 ? 1 : 0;
  },
};
