import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";

// Issue 27, "pickles: as strict as the scanners, and no stricter than true". The files are made by
// CPython's pickle and real torch.save in the test (nothing hostile is committed); the frame-layout
// one is a real torch zip whose protocol-4 data.pkl gets a FRAME shorter than its opcodes.
const MAKE = String.raw`
import sys, io, pickle, zipfile, struct, torch
d = sys.argv[1]
class Len:
    def __reduce__(self): return (len, ([1, 2, 3],))
open(d + "/len.pkl", "wb").write(pickle.dumps({"n": Len()}, protocol=2))
import _imp
open(d + "/private.pkl", "wb").write(pickle.dumps({"f": _imp.create_dynamic}, protocol=2))
cyclic = [1, 2]; cyclic.append(cyclic)
open(d + "/cyclic.pkl", "wb").write(pickle.dumps(cyclic, protocol=2))
open(d + "/notes.pkl", "wb").write(b"these are notes, not a pickle\n" * 4)
torch.save({"w": torch.arange(64.0)}, d + "/model.pt")
raw = open(d + "/model.pt", "rb").read(); open(d + "/truncated.pt", "wb").write(raw[: len(raw) // 2])
# An encrypted entry: general-purpose flag bit 0 set in the local and central headers (zip's own marking).
zipfile.ZipFile(d + "/plain.zip", "w").writestr("data.pkl", pickle.dumps({"a": 1}))
z = bytearray(open(d + "/plain.zip", "rb").read())
z[6] |= 1; c = z.find(b"PK\x01\x02"); z[c + 8] |= 1
open(d + "/encrypted.zip", "wb").write(bytes(z))
# A torch zip whose data.pkl frames do not tile the stream (the FRAME ends inside the string "torch._utils").
torch.save({"w": torch.arange(4.0)}, d + "/framed.pt", pickle_protocol=4)
src = zipfile.ZipFile(d + "/framed.pt"); out = zipfile.ZipFile(d + "/short-frame.pt", "w", zipfile.ZIP_STORED)
for info in src.infolist():
    data = src.read(info)
    if info.filename.endswith("data.pkl"):
        assert data[2] == 0x95
        data = data[:3] + struct.pack("<Q", data.index(b"torch._utils") + 3 - 11) + data[11:]
    out.writestr(info, data)
out.close()
`;

describe.skipIf(!hasPythonModules("torch"))("scan verdicts: dangerous only for what could run code (issue 27)", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-scan-verdicts-"));
  const file = (name: string) => join(dir, name);
  beforeAll(() => void runPython(MAKE, [dir]));
  const scan = (name: string) => {
    const r = runCli(["scan", file(name), "--json"]);
    return { code: r.code, result: JSON.parse(r.stdout) as { verdict: string; dangerous: unknown[]; findings: Array<{ callable: string; status: string }> } };
  };

  it("builtins.len called on a list is not dangerous, and convert reads the file", () => {
    const { code, result } = scan("len.pkl");
    expect(code).toBe(0);
    expect(result.verdict).toBe("safe");
    expect(result.findings.find((f) => f.callable === "builtins.len")?.status).toBe("unknown");
  });

  it("a function of a private stdlib module (_imp.create_dynamic: loads a C extension), only referenced, is dangerous", () => {
    const { code, result } = scan("private.pkl");
    expect(code).toBe(1);
    expect(result.findings.find((f) => f.callable === "_imp.create_dynamic")?.status).toBe("dangerous");
  });

  it("a list that holds itself is a harmless cycle, not a structural attack", () => {
    const { code, result } = scan("cyclic.pkl");
    expect(code).toBe(0);
    expect(result.verdict).toBe("safe");
    expect(result.findings.map((f) => f.status)).toEqual(["cycle"]);
  });

  for (const [name, verdict] of [
    ["notes.pkl", "unreadable"],
    ["truncated.pt", "unreadable"],
    ["encrypted.zip", "unsupported"],
  ] as const) {
    it(`${name}: verdict ${verdict}, exit 3, nothing called dangerous`, () => {
      const { code, result } = scan(name);
      expect(result.verdict).toBe(verdict);
      expect(result.dangerous).toEqual([]);
      expect(code).toBe(3);
      const text = runCli(["scan", file(name)]);
      expect(text.stdout).toMatch(/0 dangerous, 1 (unreadable|unsupported): cannot be shown safe/);
    });
  }

  it("a torch zip whose FRAMEs do not tile data.pkl: scan says dangerous, and convert refuses it too", () => {
    const { code, result } = scan("short-frame.pt");
    expect(code).toBe(1);
    expect(result.verdict).toBe("dangerous");
    const r = runCli(["convert", file("short-frame.pt"), file("short-frame.safetensors")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("an opcode crosses the end of its FRAME");
    expect(r.stderr).toContain("refused (weightbridge scan lists it)");
    // The same model with its frames intact converts.
    expect(runCli(["convert", file("framed.pt"), file("framed.safetensors")]).code).toBe(0);
    expect(readFileSync(file("framed.safetensors")).length).toBeGreaterThan(16);
  });
});
