import { describe, expect, it } from "vitest";
import { fitLine, progressReporter, shortenMiddle } from "../../src/cli/progress.js";
import { humanBytes } from "../../src/cli/output.js";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

describe("progressReporter", () => {
  it("is silent when stderr is not a TTY", () => {
    expect(progressReporter("writing x", fakeStream(false).stream)).toBeUndefined();
  });

  it("shows percent, bytes, tensors, and a final line on a TTY", () => {
    const { writes, stream } = fakeStream(true);
    const report = progressReporter("writing x", stream)!;
    report(0, 4 << 20, 0, 3);
    report(4 << 20, 4 << 20, 3, 3);
    report(4 << 20, 4 << 20, 3, 3); // nothing after the end
    expect(writes[0]).toContain("writing x 0%");
    expect(writes[0]).toContain("0/3 tensors");
    const last = writes.filter((w) => w !== "\n").pop()!;
    expect(last).toMatch(/writing x 100% {2}4\.0 MiB \/ 4\.0 MiB {2}3\/3 tensors {2}done in 0:0\d/);
    expect(writes[writes.length - 1]).toBe("\n");
    expect(writes.length).toBe(3);
  });
});

describe("fitting the progress line", () => {
  it("drops optional parts from the end, then shortens the label in the middle", () => {
    const parts = [{ text: "42%" }, { text: "1.0 GiB / 2.0 GiB", optional: true }, { text: "ETA 0:10", optional: true }];
    expect(fitLine("writing out.pt", parts, 80)).toBe("writing out.pt 42%  1.0 GiB / 2.0 GiB  ETA 0:10");
    expect(fitLine("writing out.pt", parts, 40)).toBe("writing out.pt 42%  1.0 GiB / 2.0 GiB");
    const long = `writing /data/${"x".repeat(100)}/model.safetensors`;
    const fitted = fitLine(long, parts, 60);
    expect(fitted.length).toBeLessThanOrEqual(60);
    expect(fitted).toMatch(/^writing \/data\/x+…x+\/model\.safetensors 42%$/);
    expect(shortenMiddle("abcdefghij", 5)).toBe("ab…ij");
  });

  it("uses the stream's width", () => {
    const writes: string[] = [];
    const stream = { isTTY: true, columns: 40, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    progressReporter(`writing /very/long/path/${"y".repeat(80)}.pt`, stream)!(1, 2, 0, 3);
    const shown = writes[0]!.replace("\r", "").replace("\x1b[K", "");
    expect(shown.length).toBeLessThanOrEqual(39);
    expect(shown).toContain("50%");
  });

  it("ends an unfinished line when interrupted", async () => {
    const { endProgressLines } = await import("../../src/cli/progress.js");
    const writes: string[] = [];
    const stream = { isTTY: true, columns: 80, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    progressReporter("writing x", stream)!(1, 2);
    endProgressLines();
    expect(writes.at(-1)).toBe("\n");
    endProgressLines();
    expect(writes.filter((w) => w === "\n").length).toBe(1);
  });
});

describe("progress rates", () => {
  it("show whole bytes per second, never 91.42857142857143 B/s", () => {
    const writes: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const now = Date.now;
    let t = 1_000_000;
    Date.now = () => t;
    try {
      const report = progressReporter("writing x", stream)!;
      t += 700;
      report(64, 1 << 20, 0, 1); // 64 bytes in 0.7 s
    } finally {
      Date.now = now;
    }
    expect(writes[0]).toMatch(/ 91 B\/s /);
    expect(humanBytes(91.42857142857143)).toBe("91 B");
    expect(humanBytes(1536)).toBe("1.5 KiB");
  });
});
