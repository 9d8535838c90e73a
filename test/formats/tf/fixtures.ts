import { join } from "node:path";
import { fixture } from "../../helpers/fixtures.js";

/** The real TensorFlow files (fixtures/tensorflow/README.md has their provenance). */
export const TF_FIXTURES = fixture("tensorflow");

export const tf = (...parts: string[]) => join(TF_FIXTURES, ...parts);
