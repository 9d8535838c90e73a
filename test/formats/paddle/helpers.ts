import { describeTensors, loadExpected, type ExpectedTensor as Described } from "../../helpers/expected.js";
import { EXPECTED_SUFFIX, fixture } from "../../helpers/fixtures.js";

export const FIXTURES = `${fixture("paddle")}/`;
/** The files Paddle itself wrote (provenance: fixtures/paddle/real/PROVENANCE.md). */
export const REAL = `${FIXTURES}real/`;

export type ExpectedTensor = Described & { framework_name?: string };

/** The tensors `<file>.expected.json` lists, `file` relative to fixtures/paddle/ (`real/mnist.pdparams`). */
export function expected(file: string): ExpectedTensor[] {
  return loadExpected(`${FIXTURES}${file}${EXPECTED_SUFFIX}`).tensors;
}

/** name, dtype, shape, sha256 of the contiguous little-endian bytes, in order. */
export const summary = describeTensors;
