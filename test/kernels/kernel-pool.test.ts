import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { write } from "../../src/api/write.js";
import { runKernelJob, type KernelJob } from "../../src/kernels/kernel-jobs.js";
import type * as KernelPool from "../../src/kernels/kernel-pool.js";
import { randomBytes } from "../helpers/random.js";

// The worker path exists only in the compiled package (there is no worker script next to the
// TypeScript sources), so these tests use dist/, which `npm test` builds first.

describe("kernel worker threads", () => {
  it("run permutes and casts bit-exactly as in place, and leave the caller's bytes alone", async () => {
    process.env.WEIGHTBRIDGE_WORKERS = "2";
    const pool = (await import("../../dist/kernels/kernel-pool.js" as string)) as typeof KernelPool;
    expect(pool.kernelWorkersAvailable()).toBe(true);
    const input = randomBytes(6 * 35 * 64 * 8, 7);
    const jobs: KernelJob[] = [
      { kind: "permute", shape: [6 * 35, 64 * 2], elementSize: 4, perm: [1, 0] },
      { kind: "permute", shape: [6, 35, 64], elementSize: 8, perm: [2, 0, 1] },
      { kind: "permute", shape: [6, 35, 64, 8], elementSize: 1, perm: [3, 1, 0, 2] },
      { kind: "cast", from: "float32", to: "bfloat16" },
      { kind: "cast", from: "float32", to: "float16" },
      { kind: "cast", from: "bfloat16", to: "float32" },
    ];
    // A view into a bigger buffer: the worker must get (a copy of) the view only.
    const view = new Uint8Array(input.byteLength + 16);
    view.set(input, 8);
    const viewed = view.subarray(8, 8 + input.byteLength);
    const results = await Promise.all(jobs.map((job) => pool.runKernel(job, viewed, 0)));
    results.forEach((got, i) => expect(Buffer.from(got).equals(Buffer.from(runKernelJob(jobs[i]!, input)))).toBe(true));
    expect(Buffer.from(viewed).equals(Buffer.from(input))).toBe(true);
  });

  it("CLI conversions with workers write the same bytes as without", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-workers-"));
    const source = join(dir, "model.safetensors");
    const f32 = (name: string, shape: number[], seed: number) =>
      makeTensor(name, "float32", shape, bytesData(randomBytes(shape.reduce((a, b) => a * b, 1) * 4, seed).map((b, i) => (i % 4 === 3 ? b & 0x3f : b))));
    await write({ tensors: [f32("fc1.weight", [768, 384], 1), f32("fc1.bias", [768], 2), f32("fc2.weight", [384, 768], 3)], meta: {} }, source);
    const outputs = ["0", "2"].map((workers) => {
      const mapped = join(dir, `mapped-${workers}.pdparams`);
      const cast = join(dir, `cast-${workers}.safetensors`);
      const env = { WEIGHTBRIDGE_WORKERS: workers };
      expect(runCli(["convert", source, mapped, "--map", "torch2paddle", "--layer", "fc*=linear"], { env }).code).toBe(0);
      expect(runCli(["convert", source, cast, "--dtype", "bfloat16"], { env }).code).toBe(0);
      return [readFileSync(mapped), readFileSync(cast)];
    });
    expect(outputs[1]![0]!.equals(outputs[0]![0]!)).toBe(true);
    expect(outputs[1]![1]!.equals(outputs[0]![1]!)).toBe(true);
    // The mapping did transpose: fc1.weight [768, 384] is stored as [384, 768].
    const inspect = runCli(["inspect", join(dir, "mapped-2.pdparams"), "--json"]);
    const shapes = Object.fromEntries((JSON.parse(inspect.stdout).tensors as Array<{ name: string; shape: number[] }>).map((t) => [t.name, t.shape]));
    expect(shapes["fc1.weight"]).toEqual([384, 768]);
  });
});
