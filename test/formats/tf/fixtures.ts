import { join } from "node:path";

/** The real TensorFlow files (fixtures/tensorflow/README.md has their provenance). */
export const TF_FIXTURES = join(import.meta.dirname, "../../../fixtures/tensorflow");

export const tf = (...parts: string[]) => join(TF_FIXTURES, ...parts);
