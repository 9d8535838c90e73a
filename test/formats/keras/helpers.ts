import { expect } from "vitest";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import { describeTensors, type ExpectedFile } from "../../helpers/expected.js";
import { fixture } from "../../helpers/fixtures.js";

export const FIXTURES = `${fixture("keras")}/`;
/** The files Keras itself wrote (provenance: fixtures/keras/real/PROVENANCE.md). */
export const REAL = `${FIXTURES}real/`;

/** name, dtype, shape and sha256 of each tensor, in order. */
export const summary = describeTensors;

export async function expectMatches(checkpoint: Checkpoint, expected: ExpectedFile): Promise<void> {
  expect(checkpoint.format).toBe(expected.format);
  expect(await summary(checkpoint)).toEqual(expected.tensors);
  if (expected.meta) expect(checkpoint.meta).toMatchObject(expected.meta);
}
