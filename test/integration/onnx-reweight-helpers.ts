import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { runPython } from "../helpers/python.js";

// Re-weighting an ONNX graph exported by real torch with the weights of a (differently
// initialised, "trained") torch model of the same class, judged by running the result in
// onnxruntime against what torch computes with those weights.

export interface ReweightCase {
  dir: string;
  /** The template graph, as torch.onnx.export wrote it. */
  template: string;
  /** The new weights: the trained model's state_dict. */
  weights: string;
  input: { shape: number[]; data: number[] };
  /** What torch computes with the new weights. */
  expected: number[];
  /** What the template computes (its own weights). */
  templateOutput: number[];
}

export interface CaseOptions {
  /** Python source defining `class M(torch.nn.Module)` (torch is imported). */
  model: string;
  /** Input shape of the forward pass. */
  input: number[];
  /** "fresh": the template is exported from a freshly initialised model (equal weights merged by the exporter). */
  template: "fresh" | "trained";
  /** torch.onnx.export's training mode: "eval" (the default: BatchNorm folded into Conv) or "preserve". */
  mode: "eval" | "preserve";
  opset?: number;
}

const SCRIPT = String.raw`
import sys, json, torch
d, template_kind, mode, shape, opset = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5])
def trained(m, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters(): p.uniform_(-0.5, 0.5)
        for mod in m.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.weight.uniform_(0.5, 1.5); mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2)
    return m.eval()
torch.manual_seed(0)
t = M().eval() if template_kind == "fresh" else trained(M(), 1)
x = torch.randn(*shape)
training = torch.onnx.TrainingMode.PRESERVE if mode == "preserve" else torch.onnx.TrainingMode.EVAL
torch.onnx.export(t, (x,), d + "/template.onnx", training=training, opset_version=opset)
m = trained(M(), 2)
torch.save(m.state_dict(), d + "/weights.pt")
with torch.no_grad():
    y, yt = m(x), t(x)
json.dump({"input": {"shape": list(x.shape), "data": x.flatten().tolist()}, "expected": y.flatten().tolist(),
           "templateOutput": yt.flatten().tolist()}, open(d + "/io.json", "w"))
`;

export function makeCase(options: CaseOptions): ReweightCase {
  const dir = mkdtempSync(join(tmpdir(), "wb-onnx-reweight-"));
  runPython(`import torch\n${options.model}\n${SCRIPT}`, [dir, options.template, options.mode, JSON.stringify(options.input), String(options.opset ?? 14)]);
  const io = JSON.parse(readFileSync(join(dir, "io.json"), "utf8"));
  return { dir, template: join(dir, "template.onnx"), weights: join(dir, "weights.pt"), ...io };
}

/** The model's first output computed by onnxruntime for the case's input. */
export async function runOnnx(model: string, input: ReweightCase["input"]): Promise<number[]> {
  const session = await ort.InferenceSession.create(model);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(input.data), input.shape) };
  const result = await session.run(feeds);
  return [...(result[session.outputNames[0]!]!.data as Float32Array)];
}

/** max |a − b| / max |b|. */
export function relativeError(actual: readonly number[], expected: readonly number[]): number {
  if (actual.length !== expected.length) return Infinity;
  const scale = Math.max(...expected.map(Math.abs));
  return Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!))) / scale;
}
