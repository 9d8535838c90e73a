# Reference semantics of the TFLite ops the hello_world models use, in numpy, read from the
# .tflite with python3-flatbuffers (accessors flatc generates from the schema). Float:
# FULLY_CONNECTED is x @ W.T + b then the fused activation. Int8 (TFLite's reference kernel):
# acc = sum((q_in - zp_in) * (q_w - zp_w)) + q_bias; q_out = round(acc * s_in * s_w / s_out) + zp_out,
# clamped to int8 and, for RELU, to zp_out from below. TFLite rounds the multiplier in fixed
# point; float64 here may differ by one step, which is the tolerance the tests allow.
import numpy as np
import tflite.Model, tflite.BuiltinOperator, tflite.FullyConnectedOptions, tflite.ActivationFunctionType

TYPES = {0: np.float32, 2: np.int32, 9: np.int8}


def load(path):
    buf = open(path, "rb").read()
    m = tflite.Model.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)
    ops = []

    def tensor(i):
        t = g.Tensors(i)
        b = m.Buffers(t.Buffer())
        q = t.Quantization()
        scale = q.ScaleAsNumpy()[0] if q is not None and q.ScaleLength() > 0 else None
        zp = int(q.ZeroPointAsNumpy()[0]) if q is not None and q.ZeroPointLength() > 0 else 0
        data = np.frombuffer(b.DataAsNumpy().tobytes(), TYPES[t.Type()]).reshape(t.ShapeAsNumpy()) if b.DataLength() > 0 else None
        return {"name": t.Name().decode(), "data": data, "scale": None if scale is None else np.float64(scale), "zp": zp}

    for o in range(g.OperatorsLength()):
        op = g.Operators(o)
        code = m.OperatorCodes(op.OpcodeIndex())
        assert max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == tflite.BuiltinOperator.BuiltinOperator.FULLY_CONNECTED
        opts = tflite.FullyConnectedOptions.FullyConnectedOptions()
        table = op.BuiltinOptions()
        opts.Init(table.Bytes, table.Pos)
        relu = opts.FusedActivationFunction() == tflite.ActivationFunctionType.ActivationFunctionType.RELU
        ins = [tensor(op.Inputs(k)) for k in range(3)]
        ops.append({"input": ins[0], "weights": ins[1], "bias": ins[2], "output": tensor(op.Outputs(0)), "relu": relu})
    return ops


def run_float(ops, x):
    for op in ops:
        x = x @ op["weights"]["data"].astype(np.float64).T + op["bias"]["data"].astype(np.float64)
        if op["relu"]:
            x = np.maximum(x, 0)
    return x


def run_int8(ops, x):
    """Quantizes x with the model's input parameters; returns every layer's int8 input and output."""
    first = ops[0]["input"]
    q = np.clip(np.round(x / first["scale"]) + first["zp"], -128, 127).astype(np.int64)
    layers = []
    for op in ops:
        i, w, b, out = op["input"], op["weights"], op["bias"], op["output"]
        acc = (q - i["zp"]) @ (w["data"].astype(np.int64) - w["zp"]).T + b["data"].astype(np.int64)
        y = np.round(acc * (i["scale"] * w["scale"] / out["scale"])) + out["zp"]
        low = out["zp"] if op["relu"] else -128
        y = np.clip(y, low, 127).astype(np.int64)
        layers.append({"q_in": q, "in": i, "q_out": y, "out": out, "relu": op["relu"]})
        q = y
    return layers
