# Float reference semantics (NHWC, numpy) of the ops of a TFLite MobileNet (person_detect):
# CONV_2D, DEPTHWISE_CONV_2D (SAME/VALID padding, strides, fused RELU6/RELU), AVERAGE_POOL_2D,
# RESHAPE, SOFTMAX; weights and biases dequantized (q - zp) * scale per channel. Read from the
# .tflite with python3-flatbuffers; independent of weightbridge's mapping.
import numpy as np
import tflite.Model, tflite.BuiltinOperator as BO, tflite.Conv2DOptions, tflite.DepthwiseConv2DOptions, tflite.Pool2DOptions
import tflite.Padding, tflite.ActivationFunctionType as AF

OPS = {v: k for k, v in vars(BO.BuiltinOperator).items() if not k.startswith("_")}
TYPES = {0: np.float32, 2: np.int32, 9: np.int8}


def load(path):
    buf = open(path, "rb").read()
    m = tflite.Model.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)

    def const(i):
        t = g.Tensors(i)
        b = m.Buffers(t.Buffer())
        data = np.frombuffer(b.DataAsNumpy().tobytes(), TYPES[t.Type()]).reshape(t.ShapeAsNumpy()).astype(np.float64)
        q = t.Quantization()
        if q is None or q.ScaleLength() == 0:
            return data
        scale, zp = q.ScaleAsNumpy().astype(np.float32).astype(np.float64), q.ZeroPointAsNumpy().astype(np.float64)
        axis = q.QuantizedDimension() if len(scale) > 1 and q.QuantizedDimension() < data.ndim else 0
        shape = [1] * data.ndim
        if len(scale) > 1:
            shape[axis] = len(scale)
        return (data - zp.reshape(shape)) * scale.reshape(shape)

    ops = []
    for o in range(g.OperatorsLength()):
        op = g.Operators(o)
        code = m.OperatorCodes(op.OpcodeIndex())
        name = OPS[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        entry = {"op": name}
        table = op.BuiltinOptions()
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            opts = (tflite.Conv2DOptions.Conv2DOptions if name == "CONV_2D" else tflite.DepthwiseConv2DOptions.DepthwiseConv2DOptions)()
            opts.Init(table.Bytes, table.Pos)
            entry.update(filter=const(op.Inputs(1)), bias=const(op.Inputs(2)), stride=(opts.StrideH(), opts.StrideW()),
                         same=opts.Padding() == tflite.Padding.Padding.SAME, act=opts.FusedActivationFunction())
        elif name == "AVERAGE_POOL_2D":
            opts = tflite.Pool2DOptions.Pool2DOptions()
            opts.Init(table.Bytes, table.Pos)
            entry.update(size=(opts.FilterHeight(), opts.FilterWidth()), stride=(opts.StrideH(), opts.StrideW()), same=opts.Padding() == tflite.Padding.Padding.SAME)
        ops.append(entry)
    return ops


def pads(size, k, s, same):
    if not same:
        return 0, 0
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def activate(x, act):
    if act == AF.ActivationFunctionType.RELU6:
        return np.clip(x, 0, 6)
    if act == AF.ActivationFunctionType.RELU:
        return np.maximum(x, 0)
    return x


def patches(x, kh, kw, stride, same):
    n, h, w, c = x.shape
    (t, b), (l, r) = pads(h, kh, stride[0], same), pads(w, kw, stride[1], same)
    x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    oh, ow = (x.shape[1] - kh) // stride[0] + 1, (x.shape[2] - kw) // stride[1] + 1
    out = np.empty((n, oh, ow, kh, kw, c))
    for i in range(kh):
        for j in range(kw):
            out[:, :, :, i, j, :] = x[:, i:i + oh * stride[0]:stride[0], j:j + ow * stride[1]:stride[1], :]
    return out


def run(ops, x):
    for e in ops:
        if e["op"] == "CONV_2D":
            f = e["filter"]  # O H W I
            p = patches(x, f.shape[1], f.shape[2], e["stride"], e["same"])
            x = activate(np.einsum("nhwijc,oijc->nhwo", p, f) + e["bias"], e["act"])
        elif e["op"] == "DEPTHWISE_CONV_2D":
            f = e["filter"]  # 1 H W C*M
            c = x.shape[3]
            m = f.shape[3] // c
            p = patches(x, f.shape[1], f.shape[2], e["stride"], e["same"])
            p = np.repeat(p, m, axis=5)  # output channel c*m + k reads input channel c
            x = activate(np.einsum("nhwijc,ijc->nhwc", p, f[0]) + e["bias"], e["act"])
        elif e["op"] == "AVERAGE_POOL_2D":
            p = patches(x, e["size"][0], e["size"][1], e["stride"], e["same"])
            x = p.mean(axis=(3, 4))
        elif e["op"] == "RESHAPE":
            x = x.reshape(x.shape[0], -1)
        elif e["op"] == "SOFTMAX":
            z = np.exp(x - x.max(axis=1, keepdims=True))
            x = z / z.sum(axis=1, keepdims=True)
    return x
