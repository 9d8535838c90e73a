/** Verdicts by use (src/pickle/global-policy.ts): what a pickle would call is dangerous, classes it only rebuilds are not. */
import { describe, expect, test } from "vitest";
import { scanPickle } from "../../src/pickle/index.js";
import { b } from "./bytes.js";

const verdicts = (bytes: Uint8Array) => scanPickle(bytes).globals.map((g) => `${g.module}.${g.name}:${g.status}`);

describe("allow-list verdicts", () => {
  test("REDUCE of a name outside the table is dangerous; NEWOBJ of a class and BUILD with a dict are not", () => {
    expect(verdicts(b("cpydoc\npipepager\n(Vx\nVy\ntR."))).toEqual(["pydoc.pipepager:dangerous"]);
    expect(verdicts(b(0x80, 2, "c__main__\nNet\n)", 0x81, "}Vx\nK", 1, "sb."))).toEqual(["__main__.Net:unknown"]);
  });

  test("NEWOBJ with arguments on a function-like name, and BUILD with a non-dict state, are calls", () => {
    expect(verdicts(b(0x80, 2, "cpydoc\npipepager\nVx\n", 0x85, 0x81, "."))).toEqual(["pydoc.pipepager:dangerous"]);
    expect(verdicts(b(0x80, 2, "cmymod\nGadget\n)", 0x81, "Vcmd\nb."))).toEqual(["mymod.Gadget:dangerous"]);
  });

  test("copyreg._reconstructor over object rebuilds; over any other base it calls that base", () => {
    expect(verdicts(b("ccopy_reg\n_reconstructor\n(c__main__\nNet\nc__builtin__\nobject\nNtR."))).toEqual([
      "copyreg._reconstructor:known",
      "__main__.Net:unknown",
      "builtins.object:known",
    ]);
    expect(verdicts(b("ccopy_reg\n_reconstructor\n(c__main__\nNet\ncmymod\nBase\nNtR."))).toEqual([
      "copyreg._reconstructor:known",
      "__main__.Net:unknown",
      "mymod.Base:dangerous",
    ]);
  });

  test("BUILD on a module attribute (monkey-patching) is dangerous", () => {
    expect(verdicts(b("ctorch._utils\n_rebuild_tensor\n}Vx\nK", 1, "sb."))).toEqual(["torch._utils._rebuild_tensor:dangerous"]);
  });

  test("paths and datetimes in hyper-parameters are plain data", () => {
    expect(verdicts(b("cpathlib\nPosixPath\n(V/tmp\ntR."))).toEqual(["pathlib.PosixPath:known"]);
    expect(verdicts(b("cdatetime\ntimedelta\n(K", 1, "K", 2, "K", 3, "tR."))).toEqual(["datetime.timedelta:known"]);
  });
});
