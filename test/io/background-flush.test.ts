import { describe, expect, it } from "vitest";
import { backgroundFlusher } from "../../src/io/background-flush.js";

/** A stand-in file whose datasync calls the test finishes by hand. */
function fakeFile() {
  const calls: Array<{ finish: () => void; fail: (e: Error) => void }> = [];
  return {
    calls,
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        calls.push({ finish: resolve, fail: reject });
      }),
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("backgroundFlusher", () => {
  it("starts a flush once enough bytes are written, and never two at once", async () => {
    const file = fakeFile();
    const flusher = backgroundFlusher(file, 100);
    flusher.wrote(60);
    expect(file.calls).toHaveLength(0);
    flusher.wrote(60);
    expect(file.calls).toHaveLength(1);
    flusher.wrote(500); // one is running: this waits for the next turn
    expect(file.calls).toHaveLength(1);
    file.calls[0]!.finish();
    await tick();
    flusher.wrote(100);
    expect(file.calls).toHaveLength(2);
    file.calls[1]!.finish();
    await flusher.settle();
  });

  it("settle() waits for the running flush", async () => {
    const file = fakeFile();
    const flusher = backgroundFlusher(file, 10);
    flusher.wrote(10);
    let settled = false;
    const settling = flusher.settle().then(() => {
      settled = true;
    });
    await tick();
    expect(settled).toBe(false);
    file.calls[0]!.finish();
    await settling;
    expect(settled).toBe(true);
  });

  it("reports a failed flush on the next check and on settle", async () => {
    const file = fakeFile();
    const flusher = backgroundFlusher(file, 10);
    flusher.wrote(10);
    file.calls[0]!.fail(Object.assign(new Error("no space left on device"), { code: "ENOSPC" }));
    await tick();
    expect(() => flusher.check()).toThrow(/no space/);
    await expect(flusher.settle()).rejects.toThrow(/no space/);
  });
});
