import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeTensors, type ExpectedTensor as Described } from "../../helpers/expected.js";

export const FIXTURES = fileURLToPath(new URL("../../../fixtures/paddle/", import.meta.url));
/** The real files Paddle wrote (../shared/real-fixtures/paddle); the big ones are read from there. */
export const SHARED = fileURLToPath(new URL("../../../../shared/real-fixtures/paddle/", import.meta.url));
export const HAS_SHARED = existsSync(`${SHARED}inference.pdmodel`);

export type ExpectedTensor = Described & { framework_name?: string };

export function expected(name: string): ExpectedTensor[] {
  return JSON.parse(readFileSync(`${FIXTURES}${name}.expected.json`, "utf8")).tensors;
}

/** name, dtype, shape, sha256 of the contiguous little-endian bytes, in order. */
export const summary = describeTensors;
