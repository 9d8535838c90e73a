import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";

export interface ExpectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  sha256: string;
}

export interface ExpectedFile {
  format: string;
  tensors: ExpectedTensor[];
  meta: Record<string, unknown>;
}

export function loadExpected(path: string): ExpectedFile {
  return JSON.parse(readFileSync(path, "utf8")) as ExpectedFile;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** name, dtype, shape and sha256 of each tensor, in order: what expected JSON files hold. */
export async function describeTensors(checkpoint: Checkpoint): Promise<ExpectedTensor[]> {
  const out: ExpectedTensor[] = [];
  for (const t of checkpoint.tensors) out.push({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: sha256(await t.data.read()) });
  return out;
}
