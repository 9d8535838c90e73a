import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

const tmp = () => mkdtempSync(join(tmpdir(), "wb-template-"));

describe("convert --template re-weights a target framework's file", () => {
  it("ONNX: the template's graph is kept and its initializers replaced", () => {
    const dir = tmp();
    const model = fixture("onnx", "torch_conv_lstm.onnx");
    const weights = join(dir, "w.safetensors");
    expect(runCli(["convert", model, weights]).code).toBe(0);
    const out = join(dir, "out.onnx");
    const r = runCli(["convert", weights, out, "--template", model]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    // Same weights into the same graph: the model comes back byte for byte equal in its tensors and nodes.
    const before = JSON.parse(runCli(["inspect", model, "--json"]).stdout);
    const after = JSON.parse(runCli(["inspect", out, "--json"]).stdout);
    expect(after.tensors).toEqual(before.tensors);
    expect(runCli(["diff", model, out]).code).toBe(0);
    expect(readFileSync(out).length).toBeGreaterThan(readFileSync(weights).length / 2);
  });

  it("Paddle inference: .pdiparams written for a .pdmodel equals Paddle's own", () => {
    const dir = tmp();
    const pdmodel = fixture("paddle", "real", "inference.pdmodel");
    const weights = join(dir, "w.safetensors");
    expect(runCli(["convert", pdmodel, weights]).code).toBe(0);
    const out = join(dir, "inference.pdiparams");
    const r = runCli(["convert", weights, out, "--template", pdmodel]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(fixture("paddle", "real", "inference.pdiparams")))).toBe(true);
  });
});
