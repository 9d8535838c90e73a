import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { write } from "../../src/api/write.js";

// Issue 29: what inspect and convert say, and where (stdout for results, stderr for people).

const tmp = () => mkdtempSync(join(tmpdir(), "wb-messages-"));

describe.runIf(existsSync(CLI))("inspect's output", () => {
  it("sums a Keras model config up on one line; --meta KEY prints it whole; --json keeps it whole", () => {
    const file = fixture("keras", "real", "hgq_jet_classifier.h5");
    const r = runCli(["inspect", file]);
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("  model_config: "))!;
    expect(line).toBe(
      '  model_config: Functional "model", 15 layers (FixedPointQuantizer ×8, Dense ×4, Activation ×3); input (None, 16); output dense_4_quantizer (FixedPointQuantizer) (whole config: --meta model_config)',
    );
    expect(r.stdout.split("\n").every((l) => l.length < 1000)).toBe(true);
    const whole = JSON.parse(runCli(["inspect", file, "--json"]).stdout) as { meta: { model_config: unknown } };
    const meta = runCli(["inspect", file, "--meta", "model_config"]);
    expect(JSON.parse(meta.stdout)).toEqual(whole.meta.model_config);
    const missing = runCli(["inspect", file, "--meta", "nope"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--meta: this file's meta has no key 'nope' \(it has keras_version, backend, model_config, keras_h5\)/);
    const mlp = runCli(["inspect", fixture("keras", "tfkeras213.keras")]);
    expect(mlp.stdout).toContain('  config: Sequential "sequential", 3 layers (Conv2D, Flatten, Dense); output dense (Dense) (whole config: --meta config)');
  });

  it("prints warnings on stderr with the weightbridge: prefix, none with --quiet", () => {
    const hostile = fixture("pytorch", "hostile", "zip_global.pt");
    const r = runCli(["inspect", hostile]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/warning/);
    expect(r.stderr).toMatch(/^weightbridge: warning: UNSAFE: /m);
    expect(runCli(["inspect", hostile, "--quiet"]).stderr).toBe("");
  });
});

describe.runIf(existsSync(CLI))("--json errors", () => {
  it("are one JSON object on stdout with the error's code (the line still on stderr)", () => {
    const cases: Array<[string[], string, number]> = [
      [["inspect", fixture("README.md"), "--json"], "bad-magic", 1],
      [["inspect", join(tmp(), "missing.pt"), "--json"], "io", 1],
      [["verify", "a.pt", "b.pt", "--seed", "x", "--json"], "usage", 2],
      [["convert", fixture("pytorch", "state_dict.pt"), join(tmp(), "o.safetensors"), "--select", "nope", "--json"], "usage", 2],
    ];
    for (const [args, code, exit] of cases) {
      const r = runCli(args);
      expect(r.code, r.stderr).toBe(exit);
      const json = JSON.parse(r.stdout) as { error: { code: string; message: string; line: string } };
      expect(json.error.code).toBe(code);
      expect(r.stderr).toContain(json.error.line);
    }
  });
});

describe.runIf(existsSync(CLI))("a DataParallel state_dict mapped to another framework", () => {
  it("is noticed: the warning names the module. prefix and --strip-prefix", async () => {
    const dir = tmp();
    const source = join(dir, "dp.pt");
    const weight = makeTensor("module.fc.weight", "float32", [2, 3], bytesData(new Uint8Array(24)));
    const bias = makeTensor("module.fc.bias", "float32", [2], bytesData(new Uint8Array(8)));
    await write({ tensors: [weight, bias], meta: {}, format: "pytorch" }, source);
    const r = runCli(["convert", source, join(dir, "k.h5"), "--map", "torch2keras"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "weightbridge: warning: every tensor name starts with 'module.' (a DataParallel / DistributedDataParallel wrapper): the target's layers would be named 'module.fc'; pass --strip-prefix module. to drop it",
    );
    const stripped = runCli(["convert", source, join(dir, "k2.h5"), "--map", "torch2keras", "--strip-prefix", "module."]);
    expect(stripped.code, stripped.stderr).toBe(0);
    expect(stripped.stderr).not.toMatch(/every tensor name starts with/);
    expect((JSON.parse(runCli(["inspect", join(dir, "k2.h5"), "--json"]).stdout) as { tensors: Array<{ name: string }> }).tensors.map((t) => t.name)).toEqual([
      "fc/kernel:0",
      "fc/bias:0",
    ]);
  });
});
