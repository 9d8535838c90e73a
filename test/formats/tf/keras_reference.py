"""Numpy implementations of the Keras layers in the real TensorFlow fixtures, run on the weights
TensorFlow stored (read by bundle_reader.py, by checkpoint key), against the torch module that
loads weightbridge's keras2torch output with strict=True. Prints JSON {max_abs_err, outputs}.
Usage: keras_reference.py MODEL BUNDLE_JSON STATE_DICT.pth
       keras_reference.py MODEL --init STATE_DICT.pth   (writes a random torch model's state_dict)
The torch modules (LstmModel ...) are in torch_models.py, which the tests run before this script.
"""
import json, sys
import numpy as np
import torch
from torch import nn

model, bundle_json, pth = sys.argv[1:4]
entries = {}

def w(key):
    e = entries[key + "/.ATTRIBUTES/VARIABLE_VALUE"]
    assert e["crc_ok"], key
    return np.array(e["values"], dtype=np.float32).reshape(e["shape"])

sigmoid = lambda x: 1 / (1 + np.exp(-x))
relu = lambda x: np.maximum(x, 0)

def keras_dense(x, prefix, act=None):
    y = x @ w(prefix + "/kernel") + w(prefix + "/bias")
    return act(y) if act else y

def keras_lstm(x, kernel, recurrent, bias):
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units), np.float32)
    c = np.zeros_like(h)
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    return h

def keras_conv2d_valid(x, prefix):
    k = w(prefix + "/kernel")  # [kh, kw, in, out]
    win = np.lib.stride_tricks.sliding_window_view(x, k.shape[:2], axis=(1, 2))  # N,H',W',C,kh,kw
    return relu(np.einsum("nhwcij,ijco->nhwo", win, k) + w(prefix + "/bias"))

def keras_conv1d_valid(x, prefix):
    k = w(prefix + "/kernel")  # [kw, in, out]
    win = np.lib.stride_tricks.sliding_window_view(x, k.shape[0], axis=1)  # N,L',C,kw
    return relu(np.einsum("nlcj,jco->nlo", win, k) + w(prefix + "/bias"))


def maxpool1(x):
    n, length, c = x.shape
    return x[:, : length // 2 * 2].reshape(n, length // 2, 2, c).max(axis=2)


def keras_bn(x, prefix, eps):
    return (x - w(prefix + "/moving_mean")) / np.sqrt(w(prefix + "/moving_variance") + eps) * w(prefix + "/gamma") + w(prefix + "/beta")

def maxpool2(x):
    n, h, wd, c = x.shape
    h2, w2 = h // 2, wd // 2
    return x[:, :h2 * 2, :w2 * 2].reshape(n, h2, 2, w2, 2, c).max(axis=(2, 4))

rng = np.random.default_rng(7)
def reference(model):
    if model == "lstm":
        x = rng.standard_normal((4, 5, 1)).astype(np.float32)
        h = keras_lstm(x, w("trainable_variables/0"), w("trainable_variables/1"), w("trainable_variables/2"))
        h = keras_dense(h, "layer_with_weights-1", relu)
        h = keras_dense(h, "layer_with_weights-2", relu)
        return x, keras_dense(h, "layer_with_weights-3")
    if model == "bilstm":
        # Keras 3 export: variables by list position; `_all_variables/N` are the ones the reader
        # names (saved_model.pb's SavedVariable names; `variables/N` hold identical copies).
        x = rng.standard_normal((3, 14, 3)).astype(np.float32)
        forward = keras_lstm(x, w("_all_variables/4"), w("_all_variables/6"), w("_all_variables/0"))
        backward = keras_lstm(x[:, ::-1], w("_all_variables/5"), w("_all_variables/7"), w("_all_variables/1"))
        h = relu(np.concatenate([forward, backward], axis=1) @ w("_all_variables/2") + w("_all_variables/8"))
        return x, h @ w("_all_variables/3") + w("_all_variables/9")
    if model == "embedding-bilstm":
        # Keras 2.12 model.save with keras_metadata.pb; logits before the final sigmoid.
        tokens = rng.integers(0, 10000, (3, 9))
        x = w("layer_with_weights-0/embeddings")[tokens]
        forward = keras_lstm(x, w("variables/1"), w("variables/2"), w("variables/3"))
        backward = keras_lstm(x[:, ::-1], w("variables/4"), w("variables/5"), w("variables/6"))
        h = keras_dense(np.concatenate([forward, backward], axis=1), "layer_with_weights-2", relu)
        return tokens, keras_dense(h, "layer_with_weights-3")
    if model == "cnn2d":
        x = rng.standard_normal((2, 48, 48, 3)).astype(np.float32)
        h, layer = x, 0
        for block in range(3):
            for _ in range(2):
                h = keras_bn(keras_conv2d_valid(h, "layer_with_weights-%d" % layer), "layer_with_weights-%d" % (layer + 1), 1e-3)
                layer += 2
            h = maxpool2(h)
        # Logits (before the final sigmoid, which saturates and would hide differences).
        return x, keras_dense(h.mean(axis=(1, 2)), "layer_with_weights-12")
    if model == "conv1d":
        # Conv1D → MaxPooling1D → Conv1D → MaxPooling1D → Flatten (channels-last order) → Dense;
        # logits before the final softmax.
        x = rng.standard_normal((3, 49, 1)).astype(np.float32)
        h = maxpool1(keras_conv1d_valid(maxpool1(keras_conv1d_valid(x, "layer_with_weights-0")), "layer_with_weights-1"))
        h = keras_dense(h.reshape(h.shape[0], -1), "layer_with_weights-2", relu)
        return x, keras_dense(h, "layer_with_weights-3")
    x = rng.standard_normal((3, 784)).astype(np.float32)
    return x, keras_dense(keras_dense(x, "layer_with_weights-0", relu), "layer_with_weights-1")


if bundle_json == "--init":
    torch.manual_seed(3)  # before the model is made: its initial weights are the test's inputs too
m = {"lstm": LstmModel, "bilstm": BiLstmModel, "embedding-bilstm": EmbeddingBiLstmModel, "cnn2d": CnnModel, "conv1d": Conv1dModel, "mlp": MlpModel}[model]().eval()
if bundle_json == "--init":
    # A freshly initialised torch model (BatchNorm statistics randomised too), saved as its state_dict.
    for name, buf in m.named_buffers():
        if name.endswith("running_mean"):
            buf.normal_()
        elif name.endswith("running_var"):
            buf.uniform_(0.5, 2.0)
    torch.save(m.state_dict(), pth)
    raise SystemExit(0)
entries = json.load(open(bundle_json))["tensors"]
m.load_state_dict(torch.load(pth), strict=True)
x, ref = reference(model)
with torch.no_grad():
    out = m(torch.from_numpy(x)).numpy()
print(json.dumps({"max_abs_err": float(np.abs(out - ref).max()), "max_abs_ref": float(np.abs(ref).max()), "shape": list(out.shape)}))
