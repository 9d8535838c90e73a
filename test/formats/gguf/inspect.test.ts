import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { runCli } from "../../helpers/cli.js";

const FIXTURES = join(__dirname, "../../../fixtures/gguf");

describe("inspect and scan on GGUF", () => {
  it("shows a block-quantized tensor as float32 stored as its ggml type, with its stored size", () => {
    const text = runCli(["inspect", join(FIXTURES, "types/Q4_K.gguf")]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/blk\.0\.weight\s+float32 \(stored Q4_K\)\s+\[3, 512\]\s+864 B/);
    const json = JSON.parse(runCli(["inspect", join(FIXTURES, "types/Q4_K.gguf"), "--json"]).stdout);
    expect(json.format).toBe("gguf");
    expect(json.tensors).toEqual([{ name: "blk.0.weight", dtype: "float32", shape: [3, 512], stored: "Q4_K" }]);
  });

  it("lists every metadata key, a long array (the vocabulary) by its first items and length", () => {
    const { code, stdout } = runCli(["inspect", join(FIXTURES, "real/llama-2-tiny-random.gguf")]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}gguf\.metadata\.llama\.attention\.head_count: 2$/m);
    expect(stdout).toMatch(/^ {2}gguf\.metadata\.tokenizer\.ggml\.tokens: \["<unk>","<s>","<\/s>",.*"… 32000 items"\]$/m);
    expect(stdout.split("\n").every((line) => line.length < 400)).toBe(true);
  });

  it("scan reports GGUF as pickle-free", () => {
    const { code, stdout } = runCli(["scan", join(FIXTURES, "real/llama-2-tiny-random.gguf")]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/no pickles/);
  });
});
