import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { WeightbridgeError } from "../../src/errors.js";
import { NumpyArray, PickleObject, isDangerousGlobal, numpyArray, pickle, scanPickle, unpickle, dict, callGlobal } from "../../src/pickle/index.js";
import { b, u32 } from "./bytes.js";
import { fixture } from "../helpers/fixtures.js";

function refusal(bytes: Uint8Array): WeightbridgeError {
  try {
    unpickle(bytes, { name: "evil.pkl" });
  } catch (e) {
    expect(e).toBeInstanceOf(WeightbridgeError);
    return e as WeightbridgeError;
  }
  throw new Error("hostile pickle was accepted");
}

const sh = (s: string) => b("X", u32(s.length), s);

describe("hostile pickles are refused with 'unsafe-pickle' naming the callable", () => {
  test("os.system via GLOBAL", () => {
    const e = refusal(b(0x80, 2, "cos\nsystem\n", sh("echo pwned"), 0x85, "R."));
    expect(e.code).toBe("unsafe-pickle");
    expect(e.message).toMatch(/^pickle calls os.system \(GLOBAL at byte 2\): /);
    expect(e.location).toEqual({ file: "evil.pkl", offset: 2 });
  });

  test("posix.system via STACK_GLOBAL, subprocess via INST, os via OBJ", () => {
    expect(refusal(b(0x80, 4, 0x8c, 5, "posix", 0x8c, 6, "system", 0x93, 0x8c, 2, "id", 0x85, "R.")).message).toMatch(
      /posix\.system \(STACK_GLOBAL at byte 17\)/,
    );
    expect(refusal(b("(S'ls'\nisubprocess\ncheck_output\n.")).message).toMatch(/subprocess\.check_output \(INST/);
    expect(refusal(b("(cos\npopen\nS'ls'\no.")).message).toMatch(/os\.popen/);
  });

  test("builtins eval/exec/getattr/__import__, nested inside REDUCE arguments", () => {
    expect(refusal(b("c__builtin__\neval\n(S'1'\ntR.")).message).toMatch(/builtins\.eval/);
    expect(refusal(b("cbuiltins\nexec\n(S'1'\ntR.")).message).toMatch(/builtins\.exec/);
    const nested = b("ccollections\nOrderedDict\n(cbuiltins\ngetattr\n(cbuiltins\n__import__\n(S'os'\ntRS'system'\ntRtR.");
    expect(refusal(nested).message).toMatch(/builtins\.getattr/);
    expect(refusal(b(0x8c, 5, "torch", 0x8c, 9, "os.system", 0x93, ".")).message).toMatch(/torch\.os\.system/);
  });

  test("unknown harmless classes are data, not dangerous", () => {
    const v = unpickle(b("c__main__\nNet\n)", 0x81, "."));
    expect(v).toBeInstanceOf(PickleObject);
    expect(isDangerousGlobal("__main__", "Net")).toBe(false);
    expect(isDangerousGlobal("torch.nn.modules.conv", "Conv2d")).toBe(false);
    expect(isDangerousGlobal("os.path", "join")).toBe(true);
    // Seen in real training checkpoints' hyper-parameters; inert as data.
    expect(isDangerousGlobal("pathlib", "PosixPath")).toBe(false);
    expect(isDangerousGlobal("functools", "partial")).toBe(false);
    expect(isDangerousGlobal("argparse", "Namespace")).toBe(false);
  });

  test("scanPickle lists globals and flags the dangerous ones without refusing", () => {
    const scan = scanPickle(b("(ccollections\nOrderedDict\n)Rcos\nsystem\nS'x'\n", 0x85, "Rc__main__\nNet\nl."));
    expect(scan.globals.map((g) => `${g.module}.${g.name}:${g.status}`)).toEqual([
      "collections.OrderedDict:known",
      "os.system:dangerous",
      "__main__.Net:unknown",
    ]);
    expect(scan.dangerous).toHaveLength(1);
    expect(scan.dangerous[0]!.offset).toBe(28);
    // With refusal off the call is still only recorded, never made.
    const v = unpickle(b("cos\nsystem\nS'x'\n", 0x85, "R."), { refuseDangerous: false }) as PickleObject;
    expect(v.qualifiedName).toBe("os.system");
  });
});

describe("Paddle's eval('data', {'data': array})", () => {
  const array = numpyArray("<f4", [1], new Uint8Array([0, 0, 0x80, 0x3f]));

  test("is a lookup, never an evaluation", () => {
    const bytes = pickle(dict([["w", callGlobal("builtins", "eval", ["data", dict([["data", array]])])]]));
    const v = unpickle(bytes) as Map<string, unknown>;
    expect(v.get("w")).toBeInstanceOf(NumpyArray);
    expect(scanPickle(bytes).globals.find((g) => g.name === "eval")?.status).toBe("paddle-eval");
  });

  test("any other use of eval is refused", () => {
    expect(refusal(pickle(callGlobal("builtins", "eval", ["__import__('os').system('x')", dict()]))).code).toBe("unsafe-pickle");
    expect(refusal(pickle(callGlobal("builtins", "eval", ["data"]))).code).toBe("unsafe-pickle");
    expect(refusal(b("c__builtin__\neval\n.")).message).toMatch(/never used/);
  });
});

describe("resource limits", () => {
  test("MARK nesting is bounded", () => {
    expect(refusal(b("(".repeat(2001), "N.")).message).toMatch(/MARKs nest deeper than 2000/);
    expect(unpickle(b("(".repeat(50), "N."))).toBe(null);
  });

  test("value nesting is bounded (consumers recurse)", () => {
    expect(refusal(b("]".repeat(2100), "a".repeat(2099), ".")).message).toMatch(/deeper than 2000/);
    expect(unpickle(b("]".repeat(100), "a".repeat(99), "."))).toBeInstanceOf(Array);
  });

  test("memo size is bounded", () => {
    const puts = Array.from({ length: 20 }, (_, i) => [0x71, i]).flat();
    expect(() => unpickle(b("N", puts, "."), { maxMemo: 10 })).toThrow(/memo grows past 10 entries/);
    expect(unpickle(b("N", puts, "."), { maxMemo: 20 })).toBe(null);
  });

  test("work is bounded by input size (re-encoding one memoised string over and over)", () => {
    const text = "x".repeat(100_000);
    const head = b(0x80, 2, "c_codecs\nencode\nq", 0, "X", u32(text.length), text, "q", 1, "X", u32(6), "latin1q", 2);
    const again = b("h", 0, "h", 1, "h", 2, 0x86, "R0");
    const parts = [head, ...Array.from({ length: 20_000 }, () => again), b("N.")];
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    // The unpickler's own work budget ends it; how long that takes is the machine's business.
    expect(refusal(bytes).message).toMatch(/more work than its size allows/);
  });
});

describe("garbage in, WeightbridgeError out", () => {
  // mulberry32: a fixed-seed PRNG so failures reproduce.
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const seeds = ["python_p0", "python_p2", "python_p4", "numpy_p2", "numpy_p5", "torch_state_dict", "torch_whole_model", "recursive_p2"].map(
    (n) => new Uint8Array(readFileSync(fixture("pickle", `${n}.pkl`))),
  );

  test("500 random mutations of real pickles and random byte strings", () => {
    const rand = rng(12345);
    const int = (n: number) => Math.floor(rand() * n);
    let accepted = 0;
    for (let i = 0; i < 500; i++) {
      let bytes: Uint8Array;
      if (i % 10 === 9) {
        bytes = Uint8Array.from({ length: 1 + int(64) }, () => int(256));
      } else {
        const src = seeds[i % seeds.length]!;
        const arr = Array.from(src.length > 4000 ? src.subarray(0, 4000) : src);
        for (let m = 0, n = 1 + int(4); m < n; m++) {
          const at = int(arr.length);
          switch (int(4)) {
            case 0:
              arr[at] = int(256);
              break;
            case 1:
              arr.splice(at, 1 + int(8));
              break;
            case 2:
              arr.splice(at, 0, ...Array.from({ length: 1 + int(8) }, () => int(256)));
              break;
            default:
              arr.length = at;
              break;
          }
        }
        bytes = Uint8Array.from(arr);
      }
      try {
        unpickle(bytes, { name: `case${i}` });
        accepted++;
      } catch (e) {
        if (!(e instanceof WeightbridgeError)) throw new Error(`case ${i} threw ${String(e)}: ${Buffer.from(bytes).toString("hex").slice(0, 200)}`);
        expect(e.message).not.toContain("\n");
      }
    }
    expect(accepted).toBeLessThan(500);
  });
});
