import { describe, expect, it } from "vitest";
import * as posix from "node:path/posix";
import * as shim from "../../src/web/shims/path.js";

// The page's node:path must agree with Node's POSIX one on the paths the library builds.
const CASES = [
  "",
  ".",
  "/",
  "a",
  "a/",
  "a/b",
  "/a/b/",
  "a//b",
  "./a/../b",
  "../a",
  "a/../../b",
  "/../a",
  "model.onnx",
  "sm/variables/variables.index",
  "x.weights.h5",
];

describe("the browser path shim", () => {
  it("agrees with node:path/posix", () => {
    for (const p of CASES) {
      expect(shim.normalize(p), `normalize(${p})`).toBe(posix.normalize(p));
      expect(shim.dirname(p), `dirname(${p})`).toBe(posix.dirname(p));
      expect(shim.basename(p), `basename(${p})`).toBe(posix.basename(p));
      expect(shim.extname(p), `extname(${p})`).toBe(posix.extname(p));
      expect(shim.isAbsolute(p)).toBe(posix.isAbsolute(p));
      for (const q of ["b", "../c", "", "/d/e", "model.onnx.data"]) {
        expect(shim.join(p, q), `join(${p}, ${q})`).toBe(posix.join(p, q));
        expect(shim.relative(`/${p}`, `/${q}`), `relative(/${p}, /${q})`).toBe(posix.relative(`/${p}`, `/${q}`));
      }
      expect(shim.resolve("/", p)).toBe(posix.resolve("/", p));
    }
  });
});
