import { describe, expect, it } from "vitest";
import { OpRegistry } from "../../src/graph/registry.js";

describe("OpRegistry", () => {
  it("finds the handler whose version range covers the asked version", () => {
    const registry = new OpRegistry<string>()
      .register({ domain: "", op: "Squeeze", since: 1, until: 12, handler: "attribute axes" })
      .register({ domain: "", op: "Squeeze", since: 13, handler: "input axes" });
    expect(registry.lookup("", "Squeeze", 11)).toBe("attribute axes");
    expect(registry.lookup("ai.onnx", "Squeeze", 18)).toBe("input axes");
    expect(registry.lookup("", "Squeeze", 0)).toBeUndefined();
    expect(registry.knows("", "Squeeze")).toBe(true);
    expect(registry.knows("com.microsoft", "Squeeze")).toBe(false);
  });

  it("refuses two handlers for overlapping versions", () => {
    const registry = new OpRegistry<string>().register({ domain: "", op: "Relu", since: 6, handler: "a" });
    expect(() => registry.register({ domain: "", op: "Relu", since: 14, handler: "b" })).toThrow(/Relu has two handlers for versions 14\+/);
  });
});
