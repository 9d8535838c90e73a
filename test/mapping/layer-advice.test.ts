import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { ckpt, t } from "./helpers.js";

// Issue 29: a layer whose class no rule knows (QKeras' QDense in a .keras) is refused; when its
// parameter names and shapes look like a known layer's, the refusal names --layer, the fix.
const qkeras = { className: "QDense", framework: "keras" as const };

describe("advice for tensors no rule places", () => {
  it("names --layer with the layer's regex and kind, and that --layer then converts it", async () => {
    const source = () => ckpt([t("layers/q_dense/vars/0", [3, 2], "float32", qkeras), t("layers/q_dense/vars/1", [2], "float32", qkeras)]);
    await expect(mapCheckpoint(source(), { map: "keras2torch" })).rejects.toThrow(
      "their names look like a known layer's: if layers/q_dense is a linear layer, say so with --layer '^layers/q_dense/=linear'; otherwise add rules for them",
    );
    const { report } = await mapCheckpoint(source(), { map: "keras2torch", layers: ["^layers/q_dense/=linear"] });
    expect(report.tensors.map((x) => [x.target, x.transforms.join()])).toEqual([
      ["q_dense.weight", "transpose(1,0)"],
      ["q_dense.bias", ""],
    ]);
  });

  it("says nothing of --layer when the names look like no known layer", async () => {
    const odd = ckpt([t("layers/custom/vars/0", [2], "float32", { className: "Custom", framework: "keras" })]);
    const error = await mapCheckpoint(odd, { map: "keras2torch" }).catch((e: Error) => e);
    expect(String(error)).toMatch(/no rule of keras2torch places: layers\/custom\/vars\/0; .*Add rules for them/);
    expect(String(error)).not.toMatch(/--layer/);
  });
});
