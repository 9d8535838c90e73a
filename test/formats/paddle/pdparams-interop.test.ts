import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { memorySource } from "../../../src/io/source.js";
import { MemorySink } from "../../../src/io/sink.js";
import { readPdparams } from "../../../src/formats/paddle/pdparams-read.js";
import { writePdparams, type PdparamsWriteTuning } from "../../../src/formats/paddle/pdparams-write.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import type { WriteOptions } from "../../../src/formats/types.js";
import { FIXTURES, REAL, expected, summary, type ExpectedTensor } from "./helpers.js";

// The consumer of .pdparams is paddle.load = pickle.load(f, encoding='latin1') + numpy. Paddle is not
// installable here, so Python's pickle + numpy (Debian's /usr/bin/python3) is the truth; the loader
// below also applies paddle.load's big-array reassembly (_pack_loaded_dict).
const LOADER = String.raw`
import hashlib, json, pickle, sys
import numpy as np
path, mode = sys.argv[1], sys.argv[2]
NUMPY = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}
TEXT = {("_codecs", "encode"), ("__builtin__", "bytes"), ("builtins", "bytes")}
used = set()
class OnlyNumpy(pickle.Unpickler):
    def find_class(self, module, name):
        used.add(module + "." + name)
        if (module, name) in NUMPY or (module, name) in TEXT:
            return super().find_class(module, name)
        raise pickle.UnpicklingError("refused global %s.%s" % (module, name))
with open(path, "rb") as f:
    obj = OnlyNumpy(f, encoding="latin1").load() if mode == "restricted" else pickle.load(f, encoding="latin1")
protocol = open(path, "rb").read(2)[1]
if isinstance(obj, dict) and "UnpackBigParamInfor@@" in obj:
    for key, info in obj["UnpackBigParamInfor@@"].items():
        obj[key] = np.concatenate([obj.pop(s) for s in info["slices"]]).reshape(info["OriginShape"])
    del obj["UnpackBigParamInfor@@"]
KINDS = {"b1": "bool", "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64", "u1": "uint8", "u2": "bfloat16",
         "u4": "uint32", "u8": "uint64", "f2": "float16", "f4": "float32", "f8": "float64", "c8": "complex64", "c16": "complex128"}
out = []
def walk(o, prefix):
    if isinstance(o, np.ndarray):
        a = o.copy(order="C")  # not ascontiguousarray: it turns 0-d arrays into 1-d
        out.append({"name": prefix, "dtype": KINDS[a.dtype.kind + str(a.dtype.itemsize)], "shape": list(a.shape),
                    "sha256": hashlib.sha256(a.tobytes()).hexdigest()})
    elif isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) and isinstance(o[1], np.ndarray):
        walk(o[1], prefix)
    elif isinstance(o, dict):
        for k, v in o.items():
            if k != "StructuredToParameterName@@":
                walk(v, "%s.%s" % (prefix, k) if prefix else str(k))
def plain(o):
    if isinstance(o, dict):
        return {str(k): plain(v) for k, v in o.items() if not isinstance(v, (np.ndarray, tuple))}
    return o if isinstance(o, (int, float, str, bool, type(None))) else repr(o)
walk(obj, "")
print(json.dumps({"tensors": out, "protocol": protocol, "globals": sorted(used), "type": type(obj).__name__,
                  "nameTable": obj.get("StructuredToParameterName@@") if isinstance(obj, dict) else None,
                  "values": plain(obj) if isinstance(obj, dict) else None}))
`;

interface Loaded {
  tensors: ExpectedTensor[];
  protocol: number;
  globals: string[];
  type: string;
  nameTable: Record<string, string> | null;
  values: Record<string, unknown> | null;
}

const dir = mkdtempSync(join(tmpdir(), "wb-paddle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function writeAndLoad(
  checkpoint: Checkpoint,
  options: WriteOptions,
  mode: "restricted" | "plain",
  tuning?: PdparamsWriteTuning,
): Promise<{ loaded: Loaded; bytes: Uint8Array }> {
  const sink = new MemorySink("out.pdparams");
  await writePdparams(checkpoint, sink, options, tuning);
  const bytes = sink.bytes();
  const path = join(dir, `out${counter++}.pdparams`);
  writeFileSync(path, bytes);
  return { loaded: JSON.parse(runPython(LOADER, [path, mode])) as Loaded, bytes };
}

const NUMPY_GLOBALS = ["numpy.core.multiarray._reconstruct", "numpy.dtype", "numpy.ndarray"];

function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) out[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

/** A checkpoint from "another framework": flat, with a big tensor (streamed), bf16 and a 0-d tensor. */
function foreignCheckpoint(): Checkpoint {
  return {
    format: "safetensors",
    meta: { epoch: 3 },
    tensors: [
      makeTensor("encoder.weight", "float32", [300, 300], bytesData(bytesOf(360_000, 1))),
      makeTensor("encoder.bias", "bfloat16", [300], bytesData(bytesOf(600, 2))),
      makeTensor("step", "int64", [], bytesData(bytesOf(8, 3))),
      makeTensor("mask", "bool", [4], bytesData(Uint8Array.from([1, 0, 0, 1]))),
      makeTensor("empty", "float16", [0, 3], bytesData(new Uint8Array(0))),
    ],
  };
}

describe.skipIf(!hasPythonModules("numpy"))("paddle pickles: interop with Python pickle + numpy", () => {
  for (const mode of ["restricted", "plain"] as const) {
    for (const protocol of [2, 4] as const) {
      it(`our protocol-${protocol} output of a paddle file loads (${mode} unpickler) with identical arrays and name table`, async () => {
        const source = await readPdparams(memorySource(readFileSync(`${FIXTURES}dtypes_protocol4.pdparams`), "dtypes_protocol4.pdparams"));
        const { loaded } = await writeAndLoad(source, { formatOptions: { paddle: { pickleProtocol: protocol } } }, mode);
        expect(loaded.protocol).toBe(protocol);
        expect(loaded.tensors).toEqual(expected("dtypes_protocol4.pdparams"));
        expect(loaded.nameTable).toEqual(source.meta["StructuredToParameterName@@"]);
        if (mode === "restricted") {
          const extra = protocol === 2 ? ["__builtin__.bytes", "_codecs.encode"] : [];
          expect(loaded.globals).toEqual([...NUMPY_GLOBALS, ...extra].sort());
        }
      });
    }
  }

  it("streams big protocol-4 arrays (header then chunks) and Python reads them bit-exact, bf16 as uint16", async () => {
    const checkpoint = foreignCheckpoint();
    const { loaded, bytes } = await writeAndLoad(checkpoint, { formatOptions: { paddle: { pickleProtocol: 4 } }, warn: () => {} }, "restricted");
    expect(loaded.globals).toEqual(NUMPY_GLOBALS);
    expect(loaded.tensors).toEqual(await summary(checkpoint));
    expect(loaded.type).toBe("dict");
    expect(loaded.nameTable).toBeNull();
    // and we read our own output back identically, big array referenced in place
    const back = await readPdparams(memorySource(bytes, "back.pdparams"));
    expect(await summary(back)).toEqual(await summary(checkpoint));
  });

  it("never asks a big tensor for its whole bytes when streaming (protocol 4)", async () => {
    const payload = bytesOf(1 << 20, 9);
    const data = {
      byteLength: payload.byteLength,
      read: async (): Promise<Uint8Array> => {
        throw new Error("read() of a streamed tensor");
      },
      async *chunks(max: number) {
        for (let at = 0; at < payload.byteLength; at += max) yield payload.subarray(at, Math.min(at + max, payload.byteLength));
      },
    };
    const checkpoint: Checkpoint = { format: "x", meta: {}, tensors: [makeTensor("big", "float32", [512, 512], data)] };
    const { loaded } = await writeAndLoad(checkpoint, {}, "restricted");
    expect(loaded.tensors).toEqual(await summary({ ...checkpoint, tensors: [makeTensor("big", "float32", [512, 512], bytesData(payload))] }));
  });

  it("writes StructuredToParameterName@@ from a template's names", async () => {
    const checkpoint = foreignCheckpoint();
    const template: Checkpoint = {
      tensors: [],
      meta: { "StructuredToParameterName@@": { "encoder.weight": "linear_0.w_0", "encoder.bias": "linear_0.b_0", other: "x_0.w_0" } },
    };
    const warnings: string[] = [];
    const { loaded } = await writeAndLoad(checkpoint, { template, warn: (m) => warnings.push(m) }, "restricted");
    expect(loaded.nameTable).toEqual({ "encoder.weight": "linear_0.w_0", "encoder.bias": "linear_0.b_0" });
    expect(warnings.join()).toContain("epoch");
  });

  for (const mode of ["restricted", "plain"] as const) {
    it(`protocol 2 splits arrays over the element limit like paddle.save, and paddle.load's reassembly restores them (${mode})`, async () => {
      const checkpoint = foreignCheckpoint();
      const tuning = { sliceElements: (itemsize: number) => Math.floor(4000 / itemsize) };
      const { loaded, bytes } = await writeAndLoad(checkpoint, { formatOptions: { paddle: { pickleProtocol: 2 } }, warn: () => {} }, mode, tuning);
      const expectedTensors = await summary(checkpoint);
      // pack_loaded re-adds reassembled keys at the end; compare as sets
      expect([...loaded.tensors].sort((a, b) => a.name.localeCompare(b.name))).toEqual([...expectedTensors].sort((a, b) => a.name.localeCompare(b.name)));
      const raw = Buffer.from(bytes).toString("latin1");
      expect(raw).toContain("UnpackBigParamInfor@@");
      expect(raw).toContain("encoder.weight@@.89"); // 90000 elements / 1000 per slice
      const back = await readPdparams(memorySource(bytes, "back.pdparams"));
      expect(await summary(back)).toEqual(expectedTensors);
    });
  }

  it("writes an optimizer file back with its tuples, nesting and LR_Scheduler", async () => {
    const source = await readPdparams(memorySource(readFileSync(`${FIXTURES}adam_amp.pdopt`), "adam_amp.pdopt"));
    const { loaded } = await writeAndLoad(source, {}, "restricted");
    expect(loaded.tensors).toEqual(expected("adam_amp.pdopt"));
    expect(loaded.values).toMatchObject({ LR_Scheduler: { last_epoch: 3, last_lr: 0.001, gamma: 0.5 } });
  });

  it("every real paddle pickle reads as Python's pickle + numpy sees it", async () => {
    for (const name of ["mnist.pdparams", "mlp_protocol2.pdparams"]) {
      const path = `${REAL}${name}`;
      const python = JSON.parse(runPython(LOADER, [path, "restricted"])) as Loaded;
      const ours = await readPdparams(memorySource(readFileSync(path), name));
      expect(await summary(ours)).toEqual(python.tensors);
      expect(ours.meta["StructuredToParameterName@@"]).toEqual(python.nameTable);
    }
  });
});
