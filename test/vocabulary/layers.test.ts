import { describe, expect, it } from "vitest";
import { LAYER_VOCABULARY, type Spelling, classKinds } from "../../src/vocabulary/layers.js";
import { kindFromFrameworkName } from "../../src/formats/paddle/framework-names.js";
import { normalizeKind } from "../../src/mapping/kinds.js";
import { referenceKinds } from "../../src/verify/index.js";
import { KERAS_LAYER_KINDS } from "../../src/keras/layer-kinds.js";
import { layerHint } from "../../src/formats/pytorch/layers.js";

// The layer vocabulary is the one place a framework's class names for a kind are written: each
// class names one kind, the readers' tables are made from it, and every kind verify computes is
// one some framework spells.

const FRAMEWORKS: Spelling[] = ["pytorch", "keras"];
const SPELLINGS: Spelling[] = [...FRAMEWORKS, "onnx", "paddle", "paddleNames", "aliases"];

describe("the layer vocabulary", () => {
  it("gives each framework class one kind", () => {
    for (const framework of SPELLINGS) {
      const all = Object.values(LAYER_VOCABULARY).flatMap((s) => s?.[framework] ?? []);
      expect(
        all.filter((c, i) => all.indexOf(c) !== i),
        framework,
      ).toEqual([]);
      expect(Object.keys(classKinds(framework)).length).toBe(all.length);
    }
  });

  it("is what the readers recognise", () => {
    for (const [cls, kind] of Object.entries(classKinds("keras"))) expect(KERAS_LAYER_KINDS[cls], cls).toBe(kind);
    for (const [cls, kind] of Object.entries(classKinds("pytorch"))) {
      expect(layerHint("torch.nn.modules.x", cls, "m", {})?.kind, cls).toBe(kind);
    }
    expect(layerHint("torch.nn.modules.x", "Sequential", "m", {})).toBeUndefined();
    for (const [prefix, kind] of Object.entries(classKinds("paddleNames"))) expect(kindFromFrameworkName(`${prefix}_3.w_0`), prefix).toBe(kind);
    expect(kindFromFrameworkName("constructor_0.w_0")).toBeUndefined();
  });

  it("is what users may write for a kind", () => {
    for (const spelling of ["pytorch", "keras", "aliases"] as const) {
      for (const [name, kind] of Object.entries(classKinds(spelling))) expect(normalizeKind(name), name).toBe(kind);
    }
    expect(normalizeKind("Conv", 4)).toBe("conv2d");
  });

  it("spells every kind verify has a reference for", () => {
    const spelled = new Set(
      Object.entries(LAYER_VOCABULARY)
        .filter(([, s]) => FRAMEWORKS.some((f) => (s?.[f] ?? []).length > 0))
        .map(([k]) => k),
    );
    const references = referenceKinds().filter((k) => !["conv", "conv_transpose"].includes(k));
    expect(references.filter((k) => !spelled.has(k))).toEqual([]);
  });
});
