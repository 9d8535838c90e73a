import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { read } from "../../src/index.js";
import { withLookahead } from "../../src/kernels/lookahead.js";
import { DictStream, orderedDict, pickle, pickleChunksPausing, torchStorage, torchTensor } from "../../src/pickle/index.js";
import { bytesData, makeTensor, type TensorData } from "../../src/tensor/tensor.js";
import { write } from "../../src/api/write.js";
import { MemorySink } from "../../src/io/sink.js";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { CLI, runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";
import { tf } from "../formats/tf/fixtures.js";
import { readRefusal } from "../helpers/refusal.js";
import { writeManyTensors } from "../helpers/many-tensors.js";

const work = mkdtempSync(join(tmpdir(), "wb-signals-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("long synchronous loops give the event loop turns", () => {
  it("reading 10^6 tensors through the writers' lookahead lets setImmediate callbacks (signal handlers) run", async () => {
    const bytes = bytesData(new Uint8Array(8));
    const tensors = withLookahead(
      Array.from({ length: 1_000_000 }, (_, i) => makeTensor(`t${i}`, "float32", [2], bytes)),
      false,
    );
    let turns = 0;
    let stop = false;
    const tick = () => {
      turns++;
      if (!stop) setImmediate(tick);
    };
    setImmediate(tick);
    for (const t of tensors) await t.data.read();
    stop = true;
    expect(turns).toBeGreaterThan(1);
  });
});

/** Counts turns of the event loop (what a signal handler needs) while `work` runs. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let stop = false;
  const tick = () => {
    turns++;
    if (!stop) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await work();
  } finally {
    stop = true;
  }
  return turns;
}

describe("the read and pickling phases of 200,000 tensors give the event loop turns", () => {
  const n = 200_000;
  it("reading a safetensors header of 200,000 entries (it was one synchronous JSON.parse and loop)", async () => {
    const input = join(work, "read-turns.safetensors");
    writeManyTensors(input, n);
    let count = 0;
    const turns = await turnsDuring(async () => {
      const checkpoint = await read(input);
      count = checkpoint.tensors.length;
      await checkpoint.close();
    });
    expect(count).toBe(n);
    expect(turns).toBeGreaterThan(1);
  });

  it("pickling a state dict of 200,000 tensors, made entry by entry: the same bytes as the synchronous pickler", async () => {
    const entry = (i: number) => [`experts.${i >> 6}.w${i & 63}`, torchTensor(torchStorage("float32", String(i), 2), [2], [1])] as const;
    let made = 0;
    const stream = new DictStream(function* () {
      for (let i = 0; i < n; i++, made++) yield entry(i);
    }, true);
    let chunks: Uint8Array[] = [];
    const turns = await turnsDuring(async () => {
      chunks = await pickleChunksPausing(stream, { protocol: 2 });
    });
    expect(made).toBe(n);
    expect(turns).toBeGreaterThan(1);
    const eager = pickle(orderedDict(Array.from({ length: n }, (_, i) => entry(i))), { protocol: 2 });
    expect(Buffer.concat(chunks).equals(Buffer.from(eager))).toBe(true);
  });

  it("mapping 300,000 tensors gives turns within its first pass over them, not only between passes (one took 1-4 s at 10^6)", async () => {
    const m = 300_000;
    const data = bytesData(new Uint8Array(8));
    const shape = [2];
    let reads = 0;
    // Each tensor counts the reads of its name: the first pass (tracking) reads each once.
    const tensors = Array.from({ length: m }, (_, i) => ({
      get name() {
        reads++;
        return `experts.${i >> 6}.w${i & 63}`;
      },
      dtype: "float32" as const,
      shape,
      data,
    }));
    const seen: number[] = [];
    let stop = false;
    const tick = () => {
      seen.push(reads);
      if (!stop) setImmediate(tick);
    };
    setImmediate(tick);
    const { checkpoint } = await mapCheckpoint({ tensors, meta: {} });
    stop = true;
    expect(checkpoint.tensors).toHaveLength(m);
    expect(seen.some((r) => r > 0 && r < m)).toBe(true);
  });

  it("writing a TF checkpoint of 200,000 entries: its planning and index loops, with data and a sink that give no turns themselves", async () => {
    // No turns from anywhere else: data whose reads resolve at once, a memory sink.
    const empty: TensorData = { byteLength: 0, read: async () => new Uint8Array(0), async *chunks() {} };
    const tensors = Array.from({ length: n }, (_, i) => makeTensor(`experts.${i >> 6}.w${i & 63}`, "float32", [0], empty));
    const sinks: MemorySink[] = [];
    const turns = await turnsDuring(() =>
      write({ tensors, meta: {} }, "many.index", {
        format: "tf-checkpoint",
        openSink: async (target) => {
          sinks.push(new MemorySink(target));
          return sinks.at(-1)!;
        },
      }),
    );
    expect(sinks.map((s) => s.name).sort()).toEqual(["many.data-00000-of-00001", "many.index"]);
    const index = sinks.find((s) => s.name === "many.index")!;
    expect(index.position).toBeGreaterThan(n * 4); // every entry is in the index
    expect(turns).toBeGreaterThan(1);
  });
});

/** Whether process `pid` has `path` open (Linux /proc): the conversion has started reading it. */
function hasOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

describe.skipIf(!existsSync(CLI) || !existsSync("/proc/self/fd"))("a signal during the read and the pickling of 300,000 tensors", () => {
  const n = 300_000;
  const convertUntil = async (name: string, signal: NodeJS.Signals, ready: (pid: number, dir: string, input: string) => boolean) => {
    const dir = join(work, name);
    mkdirSync(dir);
    const input = join(dir, "many.safetensors");
    writeManyTensors(input, n);
    const child = spawn(process.execPath, [CLI, "convert", input, join(dir, "out.pt")], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code, sig) => resolve(code ?? (sig ? -1 : null))));
    let ended = false;
    void exited.then(() => (ended = true));
    // The phase is recognised by what the process has done, never by a guessed delay.
    while (!ended && !ready(child.pid!, dir, input)) await new Promise((r) => setTimeout(r, 5));
    if (ended) expect.fail("the conversion ended before its phase was seen");
    child.kill(signal);
    const code = await exited;
    return { code, left: readdirSync(dir) };
  };

  it("SIGINT while the input is being read (open, no output temporary yet): exit 130, nothing written", async () => {
    const { code, left } = await convertUntil("sigint-read", "SIGINT", (pid, dir, input) => hasOpen(pid, input) && readdirSync(dir).length === 1);
    expect(code).toBe(130);
    expect(left).toEqual(["many.safetensors"]);
  }, 300_000);

  it("SIGTERM while data.pkl is being pickled (the .pt temporary exists, still empty): exit 143, no OUT, no temporary", async () => {
    const { code, left } = await convertUntil("sigterm-pickle", "SIGTERM", (_pid, dir) =>
      readdirSync(dir).some((f) => f.includes(".wb-tmp") && statSync(join(dir, f), { throwIfNoEntry: false })?.size === 0),
    );
    expect(code).toBe(143);
    expect(left).toEqual(["many.safetensors"]);
  }, 300_000);
});

describe.skipIf(!existsSync(CLI))("SIGTERM during a conversion of 100,000 tensors", () => {
  it("ends the process with 143, no OUT and no temporary left", async () => {
    const dir = join(work, "sigterm");
    mkdirSync(dir);
    const input = join(dir, "many.safetensors");
    writeManyTensors(input, 100_000);
    const out = join(dir, "out.safetensors");
    const child = spawn(process.execPath, [CLI, "convert", input, out], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
    // Signalled once the output's temporary exists: the conversion is under way.
    for (let i = 0; i < 6000 && !readdirSync(dir).some((n) => n.includes(".wb-tmp")); i++) await new Promise((r) => setTimeout(r, 10));
    child.kill("SIGTERM");
    // A hang watchdog only (vitest's test timeout): the assertion is what happens, not when.
    const code = await exited;
    if (existsSync(out)) expect.fail("the conversion finished before the signal; make the input bigger");
    expect(code).toBe(143);
    expect(readdirSync(dir)).toEqual(["many.safetensors"]);
  }, 300_000);
});

describe("a named pipe where a model file should be is refused before it is opened", () => {
  const mkfifo = (path: string) => expect(spawnSync("mkfifo", [path]).status).toBe(0);

  it("as the input, as ONNX external data and as a TF data shard", async () => {
    const dir = join(work, "fifo");
    mkdirSync(dir);
    mkfifo(join(dir, "pipe.safetensors"));
    expect((await readRefusal(join(dir, "pipe.safetensors"))).message).toMatch(/is a named pipe, not a regular file/);
    const onnx = fixture("onnx", "torch_conv_lstm_external.onnx");
    cpSync(onnx, join(dir, "m.onnx"));
    mkfifo(join(dir, "torch_conv_lstm_external.onnx.data"));
    expect((await readRefusal(join(dir, "m.onnx"))).message).toMatch(/named pipe/);
    const ckpt = join(dir, "ckpt");
    mkdirSync(ckpt);
    cpSync(join(tf("ckpt-tf1-layers-cnn-adam"), "model.ckpt-20000.index"), join(ckpt, "model.ckpt-20000.index"));
    mkfifo(join(ckpt, "model.ckpt-20000.data-00000-of-00001"));
    expect((await readRefusal(join(ckpt, "model.ckpt-20000.index"))).message).toMatch(/named pipe/);
  });

  it("the CLI says so in one line and exits (it used to block a libuv thread forever)", () => {
    const dir = join(work, "fifo-cli");
    mkdirSync(dir);
    mkfifo(join(dir, "pipe.pt"));
    const result = runCli(["convert", join(dir, "pipe.pt"), join(dir, "out.safetensors")], { timeout: 120_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^weightbridge: error: .*named pipe/);
  });
});
