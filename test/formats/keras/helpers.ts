import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";

export const FIXTURES = new URL("../../../fixtures/keras/", import.meta.url).pathname;
export const REAL = "/work/shared/real-fixtures/keras/";

export interface Expected {
  format: string;
  tensors: Array<{ name: string; dtype: string; shape: number[]; sha256: string }>;
  keras_version?: string;
  backend?: string;
}

export function expectedFor(jsonPath: string): Expected {
  return JSON.parse(readFileSync(jsonPath, "utf8")) as Expected;
}

export async function summary(checkpoint: Checkpoint): Promise<Expected["tensors"]> {
  const out: Expected["tensors"] = [];
  for (const t of checkpoint.tensors) {
    const bytes = await t.data.read();
    out.push({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  return out;
}

export async function expectMatches(checkpoint: Checkpoint, expected: Expected): Promise<void> {
  expect(checkpoint.format).toBe(expected.format);
  expect(await summary(checkpoint)).toEqual(expected.tensors);
  if (expected.keras_version) expect(checkpoint.meta.keras_version).toBe(expected.keras_version);
  if (expected.backend) expect(checkpoint.meta.backend).toBe(expected.backend);
}
