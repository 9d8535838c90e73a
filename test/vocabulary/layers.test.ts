import { describe, expect, it } from "vitest";
import { LAYER_VOCABULARY, classKinds, type LayerSpelling } from "../../src/vocabulary/layers.js";
import { referenceKinds } from "../../src/verify/index.js";
import { KERAS_LAYER_KINDS } from "../../src/keras/layer-kinds.js";
import { layerHint } from "../../src/formats/pytorch/layers.js";

// The layer vocabulary is the one place a framework's class names for a kind are written: each
// class names one kind, the readers' tables are made from it, and every kind verify computes is
// one some framework spells.

const FRAMEWORKS: Array<keyof LayerSpelling> = ["pytorch", "keras"];

describe("the layer vocabulary", () => {
  it("gives each framework class one kind", () => {
    for (const framework of FRAMEWORKS) {
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
