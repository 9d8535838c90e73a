import { readFile } from "node:fs/promises";
import { WeightbridgeError } from "../errors.js";
import { parseModelJson } from "../util/json.js";

/**
 * A JSON file the user gave (--keras-config, --hf-config): read and parsed as model JSON is (its
 * nesting depth checked first); any failure is a usage error, worded by `cannotRead` from the reason.
 */
export async function readGivenJson(path: string, cannotRead: (reason: string) => string): Promise<unknown> {
  try {
    return parseModelJson(await readFile(path, "utf8"), "the file", { file: path });
  } catch (e) {
    throw new WeightbridgeError("usage", cannotRead((e as Error).message.split("\n")[0]!), { file: path });
  }
}
