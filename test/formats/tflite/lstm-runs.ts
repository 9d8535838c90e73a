import { runPython } from "../../helpers/python.js";
import { pythonAccessors } from "../../helpers/flatc.js";

// The mnist_lstm model (UNIDIRECTIONAL_SEQUENCE_LSTM(20) → RESHAPE → FULLY_CONNECTED(10) →
// SOFTMAX) run two ways on a digit-like stroke: TFLite's LSTM step in numpy, read from a .tflite
// (tflite_lstm_reference.py), and a real runtime holding the weights of another framework's file
// (torch's nn.LSTM, Keras' LSTM in TensorFlow.js). For tflite → torch/Keras and back.

const HERE = import.meta.dirname;

const TORCH_RUN = `
import sys, json, numpy as np, torch
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_lstm_reference as ref
model = ref.load(sys.argv[3])
x = ref.digit()[None]
want, peak = ref.run(model, x[0])
state = torch.load(sys.argv[4], weights_only=True)
prefix = [k for k in state if k.endswith(".weight_ih_l0")][0][: -len("weight_ih_l0")]
net = torch.nn.LSTM(28, 20, batch_first=True).double()
net.load_state_dict({k[len(prefix):]: v.double() for k, v in state.items() if k.startswith(prefix)}, strict=True)
head = torch.nn.Linear(560, 10).double()
head.load_state_dict({"weight": state["model.sequential.output.weight"].double(), "bias": state["model.sequential.output.bias"].double()})
with torch.no_grad():
    seq, _ = net(torch.from_numpy(x))
    got = torch.softmax(head(seq.reshape(1, -1)), dim=1).numpy()[0]
print(json.dumps({"max_rel": float(np.max(np.abs(got - want) / np.abs(want))), "peak": peak, "clip": model["clip"], "want": want.tolist()}))
`;

export interface LstmComparison {
  /** Largest relative difference of the class probabilities. */
  maxRel: number;
  /** Largest |cell state| of the numpy run before the clip, and the .tflite's cell_clip. */
  peak: number;
  clip: number;
  /** The numpy reference's probabilities. */
  want: number[];
}

/** torch's nn.LSTM + Linear with a state_dict file's weights against the .tflite run in numpy. */
export function torchAgainstTflite(tflite: string, pt: string): LstmComparison {
  const r = JSON.parse(runPython(TORCH_RUN, [pythonAccessors(), HERE, tflite, pt])) as { max_rel: number; peak: number; clip: number; want: number[] };
  return { maxRel: r.max_rel, peak: r.peak, clip: r.clip, want: r.want };
}

const KERAS_PLAN = `
import sys, json, numpy as np, h5py
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_lstm_reference as ref
x = ref.digit()
model = ref.load(sys.argv[3])
want, peak = ref.run(model, x)
layers = {}
with h5py.File(sys.argv[4], "r") as f:
    for name in [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]:
        names = [n.decode() if isinstance(n, bytes) else n for n in f[name].attrs["weight_names"]]
        layers[name] = {"names": names, "weights": [np.array(f[name][w]).ravel().tolist() for w in names], "shapes": [list(f[name][w].shape) for w in names]}
print(json.dumps({"x": x.ravel().tolist(), "want": want.tolist(), "peak": peak, "clip": model["clip"], "layers": layers}))
`;

type Layer = { names: string[]; weights: number[][]; shapes: number[][] };

/**
 * A TensorFlow.js LSTM(20) → Flatten → Dense(10, softmax) with a legacy Keras HDF5's weights
 * (layers unidirectional_sequence_lstm_0 and output) against the .tflite run in numpy.
 */
export async function kerasAgainstTflite(tflite: string, h5: string): Promise<LstmComparison & { lstmWeights: string[] }> {
  const tf = await import("@tensorflow/tfjs");
  await tf.setBackend("cpu");
  const plan = JSON.parse(runPython(KERAS_PLAN, [pythonAccessors(), HERE, tflite, h5])) as {
    x: number[];
    want: number[];
    peak: number;
    clip: number;
    layers: Record<string, Layer>;
  };
  const lstm = plan.layers.unidirectional_sequence_lstm_0!;
  const net = tf.sequential();
  net.add(tf.layers.lstm({ units: 20, returnSequences: true, inputShape: [28, 28], recurrentActivation: "sigmoid" }));
  net.add(tf.layers.flatten());
  net.add(tf.layers.dense({ units: 10, activation: "softmax" }));
  const set = (k: number, layer: Layer) => net.layers[k]!.setWeights(layer.weights.map((w, i) => tf.tensor(w, layer.shapes[i]!)));
  set(0, lstm);
  set(2, plan.layers.output!);
  const got = (net.predict(tf.tensor3d(plan.x, [1, 28, 28])) as import("@tensorflow/tfjs").Tensor).dataSync();
  const maxRel = Math.max(...plan.want.map((w, i) => Math.abs(got[i]! - w) / w));
  return { maxRel, peak: plan.peak, clip: plan.clip, want: plan.want, lstmWeights: lstm.names.map((n) => n.split("/").at(-1)!) };
}
