import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { summarizeMapping } from "../../src/cli/mapping-summary.js";
import { ckpt, t } from "../mapping/helpers.js";

describe("the stderr summary", () => {
  it("counts mapped/transposed/dropped/added/unmatched in a few lines and says where the report is", async () => {
    const src = ckpt([
      t("fc.weight", [3, 4]),
      t("fc.bias", [3]),
      t("bn.weight", [3]),
      t("bn.bias", [3]),
      t("bn.running_mean", [3]),
      t("bn.running_var", [3]),
      t("bn.num_batches_tracked", [], "int64"),
    ]);
    const { report } = await mapCheckpoint(src, { map: "torch2keras", stripPrefix: "zzz." });
    const lines = summarizeMapping(report, "out/report.json");
    expect(lines[0]).toBe("mapping: 6 tensors out: 6 mapped (6 renamed, 1 transposed, 0 otherwise transformed), 1 dropped, 0 added, 0 unmatched");
    expect(lines).toContain("mapping: stripped 'zzz.' from 0 names");
    expect(lines).toContain("mapping: layer kinds: 0 from the file's hints, 6 guessed by heuristics, 0 set by overrides");
    expect(lines.at(-1)).toBe("mapping: full report in out/report.json");
    expect(lines.length).toBeLessThanOrEqual(6);
    expect(summarizeMapping(report).at(-1)).toBe("mapping: per-tensor details with --report FILE.json");
  });
});
