import type { CommandModule } from "yargs";
import { formats } from "../api/formats.js";

export const formatsCommand: CommandModule<object, { json: boolean }> = {
  command: "formats",
  describe: "List the formats weightbridge reads and writes",
  builder: (y) =>
    y.option("json", { type: "boolean", default: false, describe: "print one JSON array" }).example("$0 formats", "what this build reads and writes"),
  handler: (args) => {
    const list = formats();
    if (args.json) {
      process.stdout.write(`${JSON.stringify(list)}\n`);
      return;
    }
    const width = Math.max(...list.map((f) => f.id.length));
    for (const f of list) {
      const modes = [f.read ? "read" : "", f.write ? "write" : ""].filter(Boolean).join("+");
      process.stdout.write(`${f.id.padEnd(width)}  ${modes.padEnd(10)}  ${f.name} (${f.extensions.join(" ")})\n`);
    }
  },
};
