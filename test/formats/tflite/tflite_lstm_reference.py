# Reference semantics of a float TFLite UNIDIRECTIONAL_SEQUENCE_LSTM → (RESHAPE) → FULLY_CONNECTED →
# SOFTMAX model (mnist_lstm), in numpy, read from the .tflite with python3-flatbuffers (accessors
# flatc generates from the schema). The LSTM's inputs by slot: 1-4 input weights, 5-8 recurrent
# weights, 12-15 gate biases, each in TFLite's gate order input, forget, cell, output. One step:
# i, f, o = sigmoid(W x + R h + b), g = tanh(W x + R h + b), c = clip(f c + i g, ±cell_clip), h = o tanh(c).
import numpy as np
import tflite.Model, tflite.BuiltinOperator, tflite.UnidirectionalSequenceLSTMOptions

OPS = tflite.BuiltinOperator.BuiltinOperator


def load(path):
    buf = open(path, "rb").read()
    m = tflite.Model.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)

    def const(i):
        t = g.Tensors(i)
        b = m.Buffers(t.Buffer())
        return np.frombuffer(b.DataAsNumpy().tobytes(), np.float32).reshape(t.ShapeAsNumpy()).astype(np.float64)

    def code(op):
        c = m.OperatorCodes(op.OpcodeIndex())
        return max(c.BuiltinCode(), c.DeprecatedBuiltinCode())

    ops = [g.Operators(k) for k in range(g.OperatorsLength())]
    lstm = next(op for op in ops if code(op) == OPS.UNIDIRECTIONAL_SEQUENCE_LSTM)
    fc = next(op for op in ops if code(op) == OPS.FULLY_CONNECTED)
    opts = tflite.UnidirectionalSequenceLSTMOptions.UnidirectionalSequenceLSTMOptions()
    table = lstm.BuiltinOptions()
    opts.Init(table.Bytes, table.Pos)
    return {
        "W": [const(lstm.Inputs(k)) for k in (1, 2, 3, 4)],
        "R": [const(lstm.Inputs(k)) for k in (5, 6, 7, 8)],
        "B": [const(lstm.Inputs(k)) for k in (12, 13, 14, 15)],
        "clip": opts.CellClip(),
        "fc_weight": const(fc.Inputs(1)),
        "fc_bias": const(fc.Inputs(2)),
    }


def digit():
    """A digit-like stroke, [28, 28] (uniform noise over the whole image drives the cell state past the clip)."""
    x = np.zeros((28, 28))
    x[6:22, 12:16] = 1.0
    x[6:9, 9:19] = 0.7
    return x


def run(model, x):
    """Class probabilities for one [steps, features] sequence, and the largest |cell state| before the clip."""
    sig = lambda z: 1 / (1 + np.exp(-z))
    W, R, B, clip = model["W"], model["R"], model["B"], model["clip"]
    units = R[0].shape[0]
    h = np.zeros(units)
    c = np.zeros(units)
    outs = []
    peak = 0.0
    for step in range(x.shape[0]):
        gates = [W[k] @ x[step] + R[k] @ h + B[k] for k in range(4)]
        c = sig(gates[1]) * c + sig(gates[0]) * np.tanh(gates[2])
        peak = max(peak, float(np.max(np.abs(c))))
        if clip > 0:
            c = np.clip(c, -clip, clip)
        h = sig(gates[3]) * np.tanh(c)
        outs.append(h)
    logits = model["fc_weight"] @ np.concatenate(outs) + model["fc_bias"]
    p = np.exp(logits - logits.max())
    return p / p.sum(), peak
