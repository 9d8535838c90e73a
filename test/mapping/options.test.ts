import { describe, expect, it } from "vitest";
import { mapCheckpoint, parseLayerOverride } from "../../src/mapping/index.js";
import { WeightbridgeError } from "../../src/errors.js";
import { byName, ckpt, referencePermute, t } from "./helpers.js";

describe("--strip-prefix / --add-prefix", () => {
  it("strips DataParallel's module. before the preset sees the names, and says so per tensor and in the report", async () => {
    const src = ckpt([t("module.fc.weight", [3, 4]), t("module.fc.bias", [3]), t("head.weight", [2, 3])]);
    const { checkpoint, report } = await mapCheckpoint(src, { map: "torch2keras", stripPrefix: "module." });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual(["fc/kernel:0", "fc/bias:0", "head/kernel:0"]);
    expect(report.prefixes).toEqual({ strip: ["module."], stripped: 2, added: 0 });
    const fc = report.tensors.find((r) => r.target === "fc/kernel:0")!;
    expect(fc.source).toBe("module.fc.weight");
    expect(fc.rules).toEqual(["--strip-prefix module.", "torch2keras#dense-kernel"]);
    const src2 = await byName(src);
    expect(await checkpoint.tensors[0]!.data.read()).toEqualBytes(referencePermute(src2.get("module.fc.weight")!.bytes, [3, 4], 4, [1, 0]));
  });

  it("tries several prefixes, adds one, and warns when a prefix matches nothing", async () => {
    const src = ckpt([t("model.a.weight", [2]), t("net.b.weight", [2]), t("c", [1])]);
    const { checkpoint, report } = await mapCheckpoint(src, { stripPrefix: ["model.", "net."], addPrefix: "backbone." });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual(["backbone.a.weight", "backbone.b.weight", "backbone.c"]);
    expect(report.prefixes).toMatchObject({ stripped: 2, added: 3, add: "backbone." });
    const none = await mapCheckpoint(src, { stripPrefix: "module." });
    expect(none.report.warnings).toContain("--strip-prefix module.: no tensor name starts with it");
  });

  it("refuses a prefix that would make two names one", async () => {
    const src = ckpt([t("module.x", [1]), t("x", [1])]);
    await expect(mapCheckpoint(src, { stripPrefix: "module." })).rejects.toThrow(/map both 'module.x' and 'x' to 'x'/);
  });
});

describe("--layer REGEX=KIND", () => {
  it("parses REGEX=KIND at the last '=', normalises framework spellings, refuses unknown kinds", () => {
    expect(parseLayerOverride("^proj=linear")).toEqual({ match: "^proj", kind: "linear" });
    expect(parseLayerOverride("a(?=b)=Dense")).toEqual({ match: "a(?=b)", kind: "linear" });
    expect(parseLayerOverride("x=ConvTranspose2d").kind).toBe("conv_transpose2d");
    expect(parseLayerOverride("^bn2\\.=batchnorm(eps=1e-3)").attributes).toEqual({ eps: 0.001 });
    expect(() => parseLayerOverride("x=wibble")).toThrow(/unknown layer kind 'wibble'/);
    expect(() => parseLayerOverride("linear")).toThrow(WeightbridgeError);
  });

  it("takes layer attributes a bare state_dict cannot say: REGEX=KIND(NAME=VALUE, ...)", () => {
    expect(parseLayerOverride("attn\\.=mha(num_heads=8, batch_first=true, mode=x)")).toEqual({
      match: "attn\\.",
      kind: "mha",
      attributes: { num_heads: 8, batch_first: true, mode: "x" },
    });
    expect(parseLayerOverride("a=b=linear()")).toEqual({ match: "a=b", kind: "linear" });
    expect(() => parseLayerOverride("x=mha(num_heads)")).toThrow(/attribute 'num_heads' is not NAME=VALUE/);
  });

  it("decides a bare state_dict's kinds; the report says override vs heuristic and which override", async () => {
    // A 2-D weight without bias reads as a Linear by default; the user says it is an embedding.
    const src2 = ckpt([t("table.weight", [10, 4]), t("fc.weight", [3, 4]), t("fc.bias", [3])]);
    const guessed = await mapCheckpoint(src2, { map: "torch2keras" });
    expect(guessed.checkpoint.tensors[0]!.name).toBe("table/kernel:0");
    expect(guessed.report.tensors[0]).toMatchObject({
      kind: "linear",
      kindEvidence: "heuristic",
      kindHeuristic: "2-D weight without bias ⇒ linear (bias=False)",
    });
    const forced = await mapCheckpoint(src2, { map: "torch2keras", layers: ["^table\\.=embedding"] });
    expect(forced.checkpoint.tensors[0]!.name).toBe("table/embeddings:0");
    expect(forced.checkpoint.tensors[0]!.shape).toEqual([10, 4]);
    expect(forced.report.tensors[0]).toMatchObject({ kind: "embedding", kindEvidence: "override", kindOverride: "--layer '^table\\.=embedding'" });
    expect(forced.report.tensors[1]).toMatchObject({ kind: "linear", kindEvidence: "heuristic" });
  });

  it("beats the reader's hint and survives a chain of presets; warns when it matches nothing", async () => {
    const src = ckpt([t("e.weight", [6, 3], "float32", { kind: "linear", framework: "pytorch" })]);
    const { checkpoint, report } = await mapCheckpoint(src, { map: ["torch2keras", "keras2torch"], layers: ["^e\\.=embedding", "^zz=linear"] });
    expect(checkpoint.tensors.map((x) => `${x.name}[${x.shape}]`)).toEqual(["e.weight[6,3]"]);
    expect(report.tensors[0]!.kindEvidence).toBe("override");
    expect(report.tensors[0]!.transforms).toEqual([]);
    expect(report.warnings).toContain("--layer '^zz=linear' matches no tensor");
  });
});
