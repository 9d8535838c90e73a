import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

// Issue 29: requests that used to end in `weightbridge: internal error: ...` (a bug by the README's
// definition) end in a usage error naming the flag (exit 2), a clear refusal, or quietly.

const STATE_DICT = join(fixture("pytorch"), "state_dict.pt");
const tmp = () => mkdtempSync(join(tmpdir(), "wb-internal-"));

/** A float32 safetensors file of `bytes` zero bytes, written by hand (big enough to outlast a pipe's buffer). */
function bigSafetensors(dir: string, bytes: number): string {
  const header = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [bytes / 4], data_offsets: [0, bytes] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const path = join(dir, "big.safetensors");
  writeFileSync(path, Buffer.concat([length, header, Buffer.alloc(bytes)]));
  return path;
}

function expectUsageError(args: string[], flag: RegExp): void {
  const r = runCli(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(flag);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

describe.runIf(existsSync(CLI))("no internal errors", () => {
  it("checks numeric flags: a usage error naming the flag, exit 2", () => {
    expectUsageError(["serve", "--port", "99999"], /^weightbridge: --port: expected an integer from 0 to 65535, not 99999$/m);
    expectUsageError(["serve", "--port", "80.5"], /--port: expected an integer/);
    expectUsageError(["verify", STATE_DICT, STATE_DICT, "--seed", "abc"], /^weightbridge: --seed: expected an integer ≥ 0$/m);
    expectUsageError(["verify", STATE_DICT, STATE_DICT, "--rtol", "-0.5"], /--rtol: expected a number ≥ 0, not -0.5/);
    expectUsageError(["convert", STATE_DICT, join(tmp(), "o.safetensors"), "--verify", "--verify-rtol", "-1"], /--verify-rtol: expected a number ≥ 0, not -1/);
    expectUsageError(["diff", STATE_DICT, STATE_DICT, "--atol", "x"], /--atol: expected a number ≥ 0/);
  });

  it("checks --layer's regular expression before reading anything", () => {
    const out = join(tmp(), "o.safetensors");
    expectUsageError(["convert", STATE_DICT, out, "--layer", "((=linear"], /--layer '\(\(=linear': '\(\(' is not a regular expression/);
    expect(existsSync(out)).toBe(false);
    expectUsageError(["diff", STATE_DICT, STATE_DICT, "--layer", "[=linear"], /--layer '\[=linear'/);
    expectUsageError(["verify", STATE_DICT, STATE_DICT, "--layer", "fc=notakind"], /unknown layer kind 'notakind'/);
  });

  it("refuses an output of several files on standard output, before converting", () => {
    const dir = tmp();
    const cases: Array<[string[], RegExp]> = [
      [["--to", "safetensors", "--max-shard-size", "10KB"], /--max-shard-size writes shards and an index/],
      [["--to", "onnx", "--external-data"], /--external-data writes the tensor data beside OUT/],
      [["--to", "tf-checkpoint"], /a TensorFlow checkpoint is PREFIX\.index plus PREFIX\.data/],
    ];
    for (const [flags, why] of cases) {
      const r = spawnSync(process.execPath, [CLI, "convert", STATE_DICT, "-", ...flags], { encoding: "utf8", cwd: dir, timeout: 150_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^weightbridge: OUT '-' \(standard output\) holds one file, but this output is several/);
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe("");
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it("ends quietly when the reader closes the pipe (| head -c 10)", () => {
    const big = bigSafetensors(tmp(), 32 << 20);
    for (const args of [
      ["convert", big, "-", "--to", "pytorch"],
      ["inspect", big, "--json"],
    ]) {
      const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
      const r = spawnSync("bash", ["-c", `${quoted} | head -c 10 > /dev/null; echo "status \${PIPESTATUS[0]}"`], { encoding: "utf8", timeout: 150_000 });
      expect(r.stderr).toBe("");
      // 141 = 128 + SIGPIPE, what `cat` ends with; inspect's short output may be written whole first.
      expect(r.stdout.trim()).toMatch(args[0] === "convert" ? /^status 141$/ : /^status (0|141)$/);
    }
  });
});
