import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";

// Issue 15 case 2: --template matching on evidence. Residual blocks whose shortcut is declared
// before the convs on one side and after them on the other used to be matched by tensor order +
// shape, swapping same-shaped BatchNorms (max error 2e4, and strict=True loaded it). torch builds
// both models, loads the conversion with strict=True and computes both.

const MODELS = String.raw`
import sys, os, torch
F = torch.nn.functional
class First(torch.nn.Module):
    # shortcut declared first: state_dict order shortcut.*, conv1, bn1, conv2, bn2
    def __init__(s, cin, cout):
        super().__init__()
        s.shortcut = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, bias=False), torch.nn.BatchNorm2d(cout))
        s.conv1 = torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False); s.bn1 = torch.nn.BatchNorm2d(cout)
        s.conv2 = torch.nn.Conv2d(cout, cout, 3, padding=1, bias=False); s.bn2 = torch.nn.BatchNorm2d(cout)
    def forward(s, x): return F.relu(s.bn2(s.conv2(F.relu(s.bn1(s.conv1(x))))) + s.shortcut(x))
class Last(torch.nn.Module):
    # the same block, the projection declared last and every name different
    def __init__(s, cin, cout):
        super().__init__()
        s.conv_a = torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False); s.norm_a = torch.nn.BatchNorm2d(cout)
        s.conv_b = torch.nn.Conv2d(cout, cout, 3, padding=1, bias=False); s.norm_b = torch.nn.BatchNorm2d(cout)
        s.proj = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, bias=False), torch.nn.BatchNorm2d(cout))
    def forward(s, x): return F.relu(s.norm_b(s.conv_b(F.relu(s.norm_a(s.conv_a(x))))) + s.proj(x))
class Flat(torch.nn.Module):
    # one block with flat, Keras-style names in graph order (shortcut last)
    def __init__(s, cin, cout):
        super().__init__()
        s.conv2d = torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False); s.batch_normalization = torch.nn.BatchNorm2d(cout)
        s.conv2d_1 = torch.nn.Conv2d(cout, cout, 3, padding=1, bias=False); s.batch_normalization_1 = torch.nn.BatchNorm2d(cout)
        s.conv2d_2 = torch.nn.Conv2d(cin, cout, 1, bias=False); s.batch_normalization_2 = torch.nn.BatchNorm2d(cout)
    def forward(s, x):
        y = s.batch_normalization_1(s.conv2d_1(F.relu(s.batch_normalization(s.conv2d(x)))))
        return F.relu(y + s.batch_normalization_2(s.conv2d_2(x)))
def net(name):
    if name == "Flat": return Flat(3, 8)
    cls = {"First": First, "Last": Last}[name]
    return torch.nn.Sequential(cls(3, 8), cls(8, 8), cls(8, 16))
def trained(m):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in m.parameters(): p.copy_(torch.randn_like(p))
        for b in m.modules():
            if isinstance(b, torch.nn.BatchNorm2d):
                b.running_mean.copy_(torch.randn_like(b.running_mean)); b.running_var.copy_(torch.rand_like(b.running_var) + 0.5)
                b.num_batches_tracked.fill_(7)
    return m.eval()
step, d, src, dst = sys.argv[1:5]
if step == "make":
    torch.save(trained(net(src)).state_dict(), f"{d}/{src}.pt")
    torch.save(net(dst).state_dict(), f"{d}/{dst}-template.pt")
else:
    a = net(src); a.load_state_dict(torch.load(f"{d}/{src}.pt")); a.eval()
    b = net(dst); b.load_state_dict(torch.load(sys.argv[5]), strict=True); b.eval()
    torch.manual_seed(1)
    x = torch.randn(4, 3, 6, 6)
    ya, yb = a(x), b(x)
    print(float((ya - yb).abs().max() / ya.abs().max()))
`;

describe.skipIf(!hasPythonModules("torch"))("--template matching on evidence (issue 15 case 2)", { timeout: 360_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-template-"));
  const check = (src: string, dst: string, out: string) => Number(runPython(MODELS, ["check", dir, src, dst, out]).trim());

  for (const [src, dst] of [
    ["First", "Last"],
    ["Last", "First"],
  ] as const) {
    it(`residual blocks, shortcut declared ${src === "First" ? "first" : "last"} → template declaring it ${dst === "First" ? "first" : "last"}: right, with the evidence reported`, () => {
      runPython(MODELS, ["make", dir, src, dst]);
      const out = join(dir, `${src}-to-${dst}.pt`);
      const report = join(dir, `${src}-to-${dst}.json`);
      const r = runCli(["convert", join(dir, `${src}.pt`), out, "--template", join(dir, `${dst}-template.pt`), "--strict", "--report", report]);
      expect(r.stderr).not.toContain("error");
      expect(r.code).toBe(0);
      expect(check(src, dst, out)).toBeLessThan(1e-4);
      const tensors = (JSON.parse(readFileSync(report, "utf8")) as { tensors: Array<{ source: string; target: string; matchedBy: string }> }).tensors;
      const bn = tensors.find((t) => t.target === (dst === "Last" ? "0.proj.1.running_var" : "0.shortcut.1.running_var"))!;
      expect(bn.source).toBe(src === "First" ? "0.shortcut.1.running_var" : "0.proj.1.running_var");
      expect(bn.matchedBy).toMatch(/identical layer sequences|only batchnorm left/);
      expect(tensors.every((t) => t.matchedBy && !/tensor order|layer order/.test(t.matchedBy))).toBe(true);
    });
  }

  it("flat graph-order names against a block declaring its shortcut first: refused, naming the group and a rename rule; the rule settles it", () => {
    runPython(MODELS, ["make", dir, "Flat", "First"]);
    const template = join(dir, "First-template.pt");
    // The template here is one First block: make it so.
    runPython(
      String.raw`
import sys, torch
exec(sys.argv[1].split("step, d, src, dst")[0])
torch.save(First(3, 8).state_dict(), sys.argv[2])
`,
      [MODELS, template],
    );
    const refused = runCli(["convert", join(dir, "Flat.pt"), join(dir, "flat.pt"), "--template", template]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("have the same shapes ([8] ×4) and nothing in the files says which is which");
    expect(refused.stderr).toMatch(
      /template layers (bn1|bn2|shortcut\.1), (bn1|bn2|shortcut\.1), (bn1|bn2|shortcut\.1) and source layers batch_normalization, batch_normalization_1, batch_normalization_2/,
    );
    expect(refused.stderr).toContain('{"rules": [{"match": {"name": "^batch_normalization([./].+)$"}');

    const rules = join(dir, "rules.json");
    writeFileSync(
      rules,
      JSON.stringify({
        rules: [
          { match: { name: "^batch_normalization(\\..+)$" }, rename: "bn1$1" },
          { match: { name: "^batch_normalization_1(\\..+)$" }, rename: "bn2$1" },
          { match: { name: "^batch_normalization_2(\\..+)$" }, rename: "shortcut.1$1" },
        ],
      }),
    );
    const out = join(dir, "flat-settled.pt");
    const r = runCli(["convert", join(dir, "Flat.pt"), out, "--template", template, "--map", rules, "--strict"]);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    const value = Number(
      runPython(
        String.raw`
import sys, torch
exec(sys.argv[1].split("step, d, src, dst")[0])
a = Flat(3, 8); a.load_state_dict(torch.load(sys.argv[2])); a.eval()
b = First(3, 8); b.load_state_dict(torch.load(sys.argv[3]), strict=True); b.eval()
torch.manual_seed(1); x = torch.randn(4, 3, 6, 6)
print(float((a(x) - b(x)).abs().max() / a(x).abs().max()))
`,
        [MODELS, join(dir, "Flat.pt"), out],
      ).trim(),
    );
    expect(value).toBeLessThan(1e-4);
  });
});
