import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import type { Tensor } from "../../src/tensor/tensor.js";

/** One tensor's fingerprint: what `<file>.expected.json` lists for each tensor, in order. */
export interface ExpectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  sha256: string;
  /** initializer, parameter, buffer ... when the expected JSON states it. */
  role?: string;
}

/**
 * `<file>.expected.json`, written by each fixtures/<format>/generate.py from the real framework
 * (or an independent Python reading of the file), never by weightbridge itself.
 */
export interface ExpectedFile {
  /** The format id weightbridge reads the file as. */
  format: string;
  tensors: ExpectedTensor[];
  /** Values the checkpoint's meta must contain (a subset). */
  meta?: Record<string, unknown>;
  /** Tensor name → the framework layer owning it (tensors with a role and a layer hint). */
  layers?: Record<string, { className: string; path: string }>;
}

export function loadExpected(path: string): ExpectedFile {
  return JSON.parse(readFileSync(path, "utf8")) as ExpectedFile;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export async function sha256Of(tensor: Tensor): Promise<string> {
  return sha256(await tensor.data.read());
}

/**
 * The fingerprint helper: name, dtype, shape and sha256 of each tensor's contiguous little-endian
 * bytes, in order (plus its role when asked), as expected JSON files hold them.
 */
export async function describeTensors(checkpoint: Pick<Checkpoint, "tensors">, { withRole = false } = {}): Promise<ExpectedTensor[]> {
  const out: ExpectedTensor[] = [];
  for (const t of checkpoint.tensors) {
    out.push({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: await sha256Of(t), ...(withRole ? { role: t.role } : {}) });
  }
  return out;
}
