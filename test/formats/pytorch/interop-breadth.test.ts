import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, read } from "../../../src/index.js";
import { describeTensors } from "../../helpers/expected.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { fixture } from "../../helpers/fixtures.js";

const FIXTURES = fixture("pytorch");

/** Loads a file with real torch (classes from generate.py stand in for __main__) and prints state_dict facts. */
const STATE_DICT = `
import hashlib, json, sys
import torch
sys.path.insert(0, sys.argv[3])
import generate, __main__
for name in ("Net", "Small", "Scripted", "Offset", "AttributeDict"):
    setattr(__main__, name, getattr(generate, name))
path, kind = sys.argv[1], sys.argv[2]
if kind == "torchscript":
    obj = torch.jit.load(path).state_dict()
else:
    obj = torch.load(path, map_location="cpu")  # weights_only=False: our own fixtures and torch.nn classes
out = []
generate.flatten(obj, "", out)
print(json.dumps(out))
`;

const LOAD_INTO_NET = `
import sys
import torch
sys.path.insert(0, sys.argv[2])
import generate, __main__
__main__.Net = generate.Net
net = generate.Net()
state = torch.load(sys.argv[1], weights_only=True)
net.load_state_dict(state, strict=True)
original = torch.load(sys.argv[3], map_location="cpu").state_dict()
assert list(state) == list(original)
assert all(torch.equal(state[k], original[k]) for k in original)
print("ok", len(state))
`;

describe.skipIf(!hasPythonModules("torch"))("pytorch breadth against real torch at test time", () => {
  const cases: Array<[string, string]> = [
    ["real/three_layer_model.pt", "pickle"],
    ["whole_model.pt", "pickle"],
    ["legacy_whole_model.pt", "pickle"],
    ["legacy_state_dict.pt", "pickle"],
    ["dict_with_model.pt", "pickle"],
    ["lightning.ckpt", "pickle"],
    ["torchscript.pt", "torchscript"],
  ];
  for (const [file, kind] of cases) {
    it(`${file}: names, dtypes, shapes and bytes equal torch's own state_dict`, async () => {
      const path = join(FIXTURES, file);
      const expected = JSON.parse(runPython(STATE_DICT, [path, kind, FIXTURES]));
      const checkpoint = await read(path);
      try {
        expect(await describeTensors(checkpoint)).toEqual(expected);
      } finally {
        await checkpoint.close();
      }
    });
  }

  it("a whole model converted to pytorch loads into the class with load_state_dict(strict=True), weights_only=True", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "wb-whole-")), "net.pt");
    await convert(join(FIXTURES, "whole_model.pt"), out);
    expect(runPython(LOAD_INTO_NET, [out, FIXTURES, join(FIXTURES, "whole_model.pt")])).toMatch(/^ok \d+/);
  });
});
