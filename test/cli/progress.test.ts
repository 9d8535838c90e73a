import { describe, expect, it } from "vitest";
import { fitLine, progressReporter, shortenMiddle } from "../../src/cli/progress.js";

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
