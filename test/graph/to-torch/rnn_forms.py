"""Builds ONNX graphs of LSTM/GRU/RNN forms torch's layers do not compute (random weights, seeded).

Usage: python3 rnn_forms.py OUT_DIR
Each graph has one input X (static shape); sequence_lens, initial states and peepholes are
initializers, so onnxruntime and the generated module see the same values. onnxruntime has no
layout=1 kernels: a batch-major graph NAME.onnx comes with NAME.reference.onnx, the same op in
layout 0 between Transposes, for onnxruntime to run.
"""
import sys

import numpy
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
random = numpy.random.default_rng(3)
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def build(name, op, steps, batch, features, hidden, opset=14, lens=None, initial=False, peepholes=False, computed=False, reference=False, **attrs):
    D = 2 if attrs.get("direction") == "bidirectional" else 1
    G = GATES[op]
    layout = attrs.get("layout", 0)
    x_shape = [batch, steps, features] if layout else [steps, batch, features]
    state_shape = [batch, D, hidden] if layout else [D, batch, hidden]
    tensors = {
        "W": random.standard_normal((D, G * hidden, features)) * 0.5,
        "R": random.standard_normal((D, G * hidden, hidden)) * 0.5,
        "B": random.standard_normal((D, 2 * G * hidden)) * 0.5,
    }
    inputs = ["X", "W", "R", "B", "", "", "", ""]
    if lens is not None:
        tensors["lens"] = numpy.array(lens, dtype=numpy.int32)
        inputs[4] = "lens"
    if initial:
        tensors["h0"] = random.standard_normal(state_shape)
        inputs[5] = "h0"
        if op == "LSTM":
            tensors["c0"] = random.standard_normal(state_shape)
            inputs[6] = "c0"
    if peepholes:
        tensors["P"] = random.standard_normal((D, 3 * hidden)) * 0.5
        inputs[7] = "P"
    while inputs[-1] == "":
        inputs.pop()
    nodes = []
    if computed:
        # Weights computed at run time: W and R pass through a Mul by one.
        tensors["one"] = numpy.array(1.0)
        nodes += [helper.make_node("Mul", [w, "one"], [w + "_computed"]) for w in ("W", "R")]
        inputs[1], inputs[2] = "W_computed", "R_computed"
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    if reference:
        # layout 0 between Transposes: X and the states to time-major, Y and the final states back.
        attrs = {k: v for k, v in attrs.items() if k != "layout"}
        nodes.append(helper.make_node("Transpose", ["X"], ["X_time_major"], perm=[1, 0, 2]))
        inputs[0] = "X_time_major"
        for k in ("h0", "c0"):
            if k in tensors:
                tensors[k] = tensors[k].transpose(1, 0, 2)
        nodes.append(helper.make_node(op, inputs, [o + "_time_major" for o in outputs], hidden_size=hidden, **attrs))
        nodes.append(helper.make_node("Transpose", ["Y_time_major"], ["Y"], perm=[2, 0, 1, 3]))
        nodes += [helper.make_node("Transpose", [o + "_time_major"], [o], perm=[1, 0, 2]) for o in outputs[1:]]
    else:
        nodes.append(helper.make_node(op, inputs, outputs, hidden_size=hidden, **attrs))
    initializers = [numpy_helper.from_array(v.astype(numpy.int32 if k == "lens" else numpy.float32), k) for k, v in tensors.items()]
    y_shape = [batch, steps, D, hidden] if layout else [steps, D, batch, hidden]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape)]
        + [helper.make_tensor_value_info(o, TensorProto.FLOAT, state_shape) for o in outputs[1:]],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, "%s/%s%s.onnx" % (out, name, ".reference" if reference else ""))


def batch_major(name, *args, **kwargs):
    global random
    for reference in (False, True):
        random = numpy.random.default_rng(sum(map(ord, name)))
        build(name, *args, reference=reference, layout=1, **kwargs)


build("gru_linear_first_bidirectional_lens", "GRU", 5, 3, 4, 6, lens=[5, 2, 3], initial=True, direction="bidirectional", linear_before_reset=0)
build("lstm_clip_reverse_peepholes_lens", "LSTM", 5, 3, 4, 6, lens=[4, 5, 1], initial=True, peepholes=True, direction="reverse", clip=0.7)
batch_major("lstm_batch_major_bidirectional", "LSTM", 4, 2, 3, 5, initial=True, peepholes=True, direction="bidirectional")
build("rnn_relu_computed_weights", "RNN", 6, 2, 3, 4, computed=True, activations=["Relu"])
batch_major("gru_batch_major_clip_softsign", "GRU", 5, 2, 3, 4, lens=[3, 5], clip=1.5, activations=["Sigmoid", "Softsign"])
