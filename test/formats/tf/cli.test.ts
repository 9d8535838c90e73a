import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { tf } from "./fixtures.js";

describe("the CLI on TensorFlow folders and prefixes", () => {
  it("formats lists both; inspect --json takes a SavedModel folder and shows the checkpoint keys", () => {
    const formats = runCli(["formats"]);
    expect(formats.stdout).toMatch(/tf-checkpoint\s+read\+write/);
    expect(formats.stdout).toMatch(/tf-savedmodel\s+read\+write/);
    const inspect = runCli(["inspect", "--json", tf("savedmodel-lstm-dense-adam-k26")]);
    expect(inspect.code).toBe(0);
    const json = JSON.parse(inspect.stdout) as {
      format: string;
      tensors: Array<{ name: string; role?: string }>;
      meta: { tensorflow: { checkpoint_keys: Record<string, string> } };
    };
    expect(json.format).toBe("tf-savedmodel");
    expect(json.meta.tensorflow.checkpoint_keys["dense_17/kernel"]).toBe("layer_with_weights-3/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    expect(json.tensors.filter((t) => t.role === "optimizer")).toHaveLength(18);
  });

  it("scan finds no pickles in a bundle; diff compares a folder with a bare prefix", () => {
    const scan = runCli(["scan", tf("ckpt-tf1-layers-cnn-adam")]);
    expect(scan.code).toBe(0);
    expect(scan.stdout).toMatch(/no pickles/);
    const diff = runCli(["diff", tf("ckpt-tf1-layers-cnn-adam"), tf("ckpt-tf1-layers-cnn-adam/model.ckpt-20000")]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/equal: 20 tensors/);
  });

  it("a folder whose state file names a missing checkpoint: one line, exit 1", () => {
    const result = runCli(["inspect", tf("ckpt-keras-modelcheckpoint-mlp-epoch0-tf23")]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/cp-0050\.ckpt\.index, is missing/);
  });
});
