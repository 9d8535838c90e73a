"""Exports the real graphs the PyTorch-module tests convert, with torch.onnx.export (random weights).

Usage: python3 export_models.py OUT_DIR
"""
import math
import sys

import torch
import torch.nn as nn
import torchvision

out = sys.argv[1]
torch.manual_seed(0)


def export(name, model, args, **kwargs):
    model.eval()
    torch.onnx.export(model, args, "%s/%s.onnx" % (out, name), **kwargs)


class Encoder(nn.Module):
    """A BERT-like encoder: token + position embeddings, two post-norm attention blocks, a head."""

    def __init__(self, vocab=100, width=32, heads=4, layers=2):
        super().__init__()
        self.heads = heads
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Parameter(torch.randn(64, width) * 0.02)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                "qkv": nn.Linear(width, 3 * width), "out": nn.Linear(width, width), "norm1": nn.LayerNorm(width),
                "up": nn.Linear(width, 4 * width), "down": nn.Linear(4 * width, width), "norm2": nn.LayerNorm(width),
            }))
        self.head = nn.Linear(width, 5)

    def forward(self, ids):
        batch, length = ids.shape
        x = self.tokens(ids) + self.positions[:length]
        for b in self.blocks:
            q, k, v = b["qkv"](x).reshape(batch, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)
            x = b["norm1"](x + b["out"]((attention @ v).transpose(1, 2).reshape(batch, length, -1)))
            x = b["norm2"](x + b["down"](nn.functional.gelu(b["up"](x))))
        return self.head(x)


class Tagger(nn.Module):
    """An LSTM tagger: embeddings, a bidirectional LSTM, a linear layer per step."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.lstm = nn.LSTM(16, 24, bidirectional=True)
        self.tag = nn.Linear(48, 6)

    def forward(self, ids):
        out, _ = self.lstm(self.embed(ids))
        return torch.log_softmax(self.tag(out), -1)


image = torch.randn(1, 3, 64, 64)
dynamic = {"image": {0: "batch"}}
preserve = {"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False}
export("resnet18", torchvision.models.resnet18(), image, input_names=["image"], dynamic_axes=dynamic)
export("resnet18_preserve", torchvision.models.resnet18(), image, input_names=["image"], **preserve)
export("mobilenet_v2", torchvision.models.mobilenet_v2(), image, input_names=["image"], dynamic_axes=dynamic)
export("mobilenet_v2_preserve", torchvision.models.mobilenet_v2(), image, input_names=["image"], **preserve)
ids = torch.randint(0, 100, (2, 7))
export("bert_like", Encoder(), ids, input_names=["ids"], dynamic_axes={"ids": {0: "batch", 1: "length"}}, opset_version=14)
export("bert_like_opset17", Encoder(), ids, input_names=["ids"], dynamic_axes={"ids": {0: "batch", 1: "length"}}, opset_version=17)
export("lstm_tagger", Tagger(), torch.randint(0, 50, (9, 2)), input_names=["ids"], dynamic_axes={"ids": {0: "length", 1: "batch"}})


class SelfAttention(nn.Module):
    """nn.MultiheadAttention as self-attention (the converter writes it back as that layer)."""

    def __init__(self, batch_first):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


sequence = {"x": {0: "a", 1: "b"}}
export("mha_batch_first", SelfAttention(True), torch.randn(2, 5, 16), input_names=["x"], dynamic_axes=sequence, opset_version=14)
export("mha_sequence_first", SelfAttention(False), torch.randn(5, 2, 16), input_names=["x"], dynamic_axes=sequence, opset_version=17)


class MaskedAttention(nn.Module):
    """Self-attention with a key_padding_mask computed from an input (the first key never masked)."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)

    def forward(self, x, keep):
        padding = (keep < 0) & (torch.arange(keep.shape[1]) > 0)
        return self.attn(x, x, x, key_padding_mask=padding, need_weights=False)[0]


masked = {"x": {0: "a", 1: "b"}, "keep": {0: "a", 1: "b"}}
export("mha_key_padding", MaskedAttention(), (torch.randn(2, 5, 16), torch.randn(2, 5)), input_names=["x", "keep"], dynamic_axes=masked, opset_version=14)
layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
export("transformer_layer", layer, torch.randn(2, 5, 16), input_names=["x"], dynamic_axes=sequence, opset_version=14)

# A near miss: the same graph with the query scaled by 2.5 instead of sqrt(4) is not attention as
# nn.MultiheadAttention computes it, so it must be written node by node (and still agree).
import numpy  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

near = onnx.load("%s/mha_batch_first.onnx" % out)
scale = [n for n in near.graph.node if n.op_type == "Div" and n.output[0] in [m.input[0] for m in near.graph.node if m.op_type == "MatMul"]]
source = [n for n in near.graph.node if n.output[0] == scale[0].input[1]][0]
source.attribute[0].t.CopyFrom(numpy_helper.from_array(numpy.full_like(numpy_helper.to_array(source.attribute[0].t), 2.5)))
onnx.save(near, "%s/mha_near_miss.onnx" % out)
