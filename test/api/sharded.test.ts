import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, read } from "../../src/index.js";
import { parseSize, planShards, shardFileName } from "../../src/api/sharded-write.js";
import { describeTensors, loadExpected } from "../helpers/expected.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { fixture } from "../helpers/fixtures.js";

const FIXTURES = fixture("pytorch");
const tmp = () => mkdtempSync(join(tmpdir(), "wb-shard-"));

describe("shard planning", () => {
  it("parses sizes the way users write them", () => {
    expect(parseSize("500MB")).toBe(500e6);
    expect(parseSize("5GB")).toBe(5e9);
    expect(parseSize("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseSize("1.5k")).toBe(1500);
    expect(parseSize("4096")).toBe(4096);
    expect(() => parseSize("lots")).toThrow(/cannot read size/);
  });

  it("fills shards in order and gives an oversized tensor its own shard", () => {
    const t = (name: string, n: number) => makeTensor(name, "uint8", [n], bytesData(new Uint8Array(n)));
    const shards = planShards([t("a", 40), t("b", 50), t("c", 200), t("d", 10), t("e", 10)], 100);
    expect(shards.map((s) => s.map((x) => x.name))).toEqual([["a", "b"], ["c"], ["d", "e"]]);
  });

  it("names shards like Hugging Face", () => {
    expect(shardFileName("/x/model.safetensors", 0, 3)).toBe("model-00001-of-00003.safetensors");
    expect(shardFileName("pytorch_model.bin", 11, 12)).toBe("pytorch_model-00012-of-00012.bin");
  });
});

describe("sharded checkpoints end to end", () => {
  for (const ext of ["safetensors", "bin"]) {
    it(`writes .${ext} shards plus an index, and reads the index back as one checkpoint`, async () => {
      const dir = tmp();
      const out = join(dir, `model.${ext}`);
      await convert(join(FIXTURES, "state_dict.pt"), out, { maxShardSize: 100 });
      const files = readdirSync(dir).sort();
      expect(files).toContain(`model.${ext}.index.json`);
      expect(files.filter((f) => f.startsWith("model-0")).length).toBeGreaterThan(2);
      expect(existsSync(out)).toBe(false);
      const index = JSON.parse(readFileSync(join(dir, `model.${ext}.index.json`), "utf8"));
      expect(Object.keys(index.weight_map)).toHaveLength(10);
      expect(index.metadata.total_size).toBe(324);
      const joined = await read(join(dir, `model.${ext}.index.json`));
      expect(await describeTensors(joined)).toEqual(loadExpected(join(FIXTURES, "state_dict.pt.expected.json")).tensors);
      await joined.close();
      // and an index converts like any file
      const single = join(dir, "single.safetensors");
      await convert(join(dir, `model.${ext}.index.json`), single);
      const back = await read(single);
      expect(back.tensors).toHaveLength(10);
      await back.close();
    });
  }

  it("refuses an index whose shard is missing or disagrees", async () => {
    const dir = tmp();
    await convert(join(FIXTURES, "state_dict.pt"), join(dir, "m.safetensors"), { maxShardSize: 100 });
    const indexPath = join(dir, "m.safetensors.index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    index.weight_map["extra.weight"] = "m-00099-of-00099.safetensors";
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(read(indexPath)).rejects.toThrow(/no such file/);
    index.weight_map["extra.weight"] = "../escape.safetensors";
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(read(indexPath)).rejects.toThrow(/refusing path/);
    delete index.weight_map["extra.weight"];
    delete index.weight_map["conv.bias"];
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(read(indexPath)).rejects.toThrow(/not in the index/);
  });
});

describe.skipIf(!hasPythonModules("torch"))("torch reads our shards", () => {
  it("every .bin shard loads with weights_only=True and together they make the state dict", async () => {
    const dir = tmp();
    await convert(join(FIXTURES, "state_dict.pt"), join(dir, "pytorch_model.bin"), { maxShardSize: "200" });
    const out = runPython(
      `import json, sys, os, torch
d = sys.argv[1]
index = json.load(open(os.path.join(d, "pytorch_model.bin.index.json")))
sd = {}
for shard in sorted(set(index["weight_map"].values())):
    sd.update(torch.load(os.path.join(d, shard), weights_only=True))
ref = torch.load(sys.argv[2], weights_only=True)
assert list(sd) == list(ref), (list(sd), list(ref))
assert all(torch.equal(sd[k], ref[k]) for k in ref)
print("ok")`,
      [dir, join(FIXTURES, "state_dict.pt")],
    );
    expect(out.trim()).toBe("ok");
  });
});
