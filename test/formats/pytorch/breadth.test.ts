import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inspect, memorySource, read, WeightbridgeError } from "../../../src/index.js";
import type { OpenCheckpoint } from "../../../src/index.js";
import { fixture } from "../../helpers/fixtures.js";

const FIXTURES = fixture("pytorch");

async function withFile<T>(name: string, use: (c: OpenCheckpoint) => T | Promise<T>, options = {}): Promise<T> {
  const checkpoint = await read(join(FIXTURES, name), options);
  try {
    return await use(checkpoint);
  } finally {
    await checkpoint.close();
  }
}

const kinds = (c: OpenCheckpoint) => Object.fromEntries(c.tensors.map((t) => [t.name, t.layer?.kind]));

describe("whole-model pickles", () => {
  it("yields state_dict names with layer kinds from torch.nn classes, never the non-persistent buffer", async () => {
    await withFile("whole_model.pt", (c) => {
      const k = kinds(c);
      expect(k["features.0.weight"]).toBe("conv2d");
      expect(k["features.1.num_batches_tracked"]).toBe("batchnorm");
      expect(k["features.3.weight"]).toBe("depthwise_conv2d");
      expect(k["features.4.weight"]).toBe("conv_transpose2d");
      expect(k["rnn.weight_hh_l1_reverse"]).toBe("lstm");
      expect(k["gru.bias_ih_l0"]).toBe("gru");
      expect(k["head.fc.weight"]).toBe("linear");
      expect(k["head.ln.weight"]).toBe("layernorm");
      expect(k["head.act.weight"]).toBe("prelu");
      expect(k["emb.weight"]).toBe("embedding");
      expect(k["attn.in_proj_weight"]).toBe("mha");
      expect(k["attn.out_proj.weight"]).toBe("linear");
      expect(k["norm1d.running_var"]).toBe("batchnorm");
      expect(k["conv1d.weight"]).toBe("conv1d");
      expect(k.scale).toBeUndefined(); // owned by __main__.Net: no kind is claimed for unknown classes
      expect(c.tensors.some((t) => t.name === "cache")).toBe(false);
      const conv = c.tensors.find((t) => t.name === "features.3.weight")!;
      expect(conv.layer).toMatchObject({ framework: "pytorch", className: "Conv2d", path: "features.3", attributes: { groups: 4, in_channels: 4 } });
      expect(c.tensors.find((t) => t.name === "scale")!.role).toBe("buffer");
      expect(c.tensors.find((t) => t.name === "features.0.bias")!.role).toBe("parameter");
      expect(c.structure).toBeUndefined(); // a whole model reads as a flat state dict
    });
  });

  it("finds a model inside a dict and lends its layer hints to the state dict beside it", async () => {
    await withFile("dict_with_model.pt", (c) => {
      expect(c.meta).toEqual({ epoch: 3 });
      const k = kinds(c);
      expect(k["model.0.weight"]).toBe("conv2d");
      expect(k["model_state_dict.0.weight"]).toBe("conv2d");
      expect(k["model_state_dict.1.running_mean"]).toBe("batchnorm");
      expect(k["model_state_dict.3.bias"]).toBe("linear");
    });
    await withFile(
      "dict_with_model.pt",
      (c) => {
        expect(c.tensors.map((t) => t.name)).toEqual([
          "0.weight",
          "0.bias",
          "1.weight",
          "1.bias",
          "1.running_mean",
          "1.running_var",
          "1.num_batches_tracked",
          "3.weight",
          "3.bias",
        ]);
      },
      { select: "model" },
    );
  });

  it("reads the real legacy whole model an old PyTorch wrote", async () => {
    await withFile("real/three_layer_model.pt", (c) => {
      expect(c.format).toBe("pytorch");
      expect(c.tensors.every((t) => t.layer?.kind === "linear" && t.role === "parameter")).toBe(true);
    });
  });
});

describe("TorchScript archives", () => {
  it("tells parameters from buffers as the code says and takes layer facts from Final attributes", async () => {
    await withFile("torchscript.pt", (c) => {
      const role = Object.fromEntries(c.tensors.map((t) => [t.name, t.role]));
      expect(role.scale).toBe("parameter");
      expect(role.mean).toBe("buffer");
      expect(role["body.1.running_mean"]).toBe("buffer");
      expect(role["body.0.weight"]).toBe("parameter");
      expect(c.tensors.some((t) => t.name === "plain")).toBe(false);
      expect(kinds(c)["body.3.weight"]).toBe("depthwise_conv2d");
      expect(kinds(c)["head.weight"]).toBe("linear");
    });
  });
});

describe("Lightning-style checkpoints", () => {
  it("shows hyper_parameters (a dict subclass), loops and callbacks as meta", async () => {
    const result = await inspect(join(FIXTURES, "lightning.ckpt"));
    expect(result.meta.hyper_parameters).toEqual({ lr: 0.001, hidden: 3, layers: [4, 3, 2], name: "mlp" });
    expect(result.meta["pytorch-lightning_version"]).toBe("2.1.0");
    expect(result.tensors.map((t) => t.name)).toContain("optimizer_states.0.state.0.exp_avg");
  });

  it("--select state_dict takes the weights", async () => {
    await withFile(
      "lightning.ckpt",
      (c) => {
        expect(c.tensors.map((t) => t.name)).toEqual(["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"]);
      },
      { select: "state_dict" },
    );
  });
});

describe("legacy and ancient containers", () => {
  it("says which part of a truncated legacy file is missing", async () => {
    const bytes = readFileSync(join(FIXTURES, "legacy_state_dict.pt"));
    for (const cut of [40, 600, bytes.length - 10]) {
      const error = await read(memorySource(bytes.subarray(0, cut), "cut.pt")).then(
        () => undefined,
        (e) => e,
      );
      expect(error).toBeInstanceOf(WeightbridgeError);
      expect((error as WeightbridgeError).code).toMatch(/truncated|corrupt/);
      expect((error as WeightbridgeError).describe()).toMatch(/^cut\.pt/);
    }
  });

  it("refuses the ≤0.1.9 tar format by name", async () => {
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode("sys_info"), 0);
    tar.set(new TextEncoder().encode("ustar"), 257);
    const error = await read(memorySource(tar, "old.tar")).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(WeightbridgeError);
    expect((error as WeightbridgeError).code).toBe("unsupported");
    expect((error as WeightbridgeError).message).toMatch(/tar/);
  });
});
