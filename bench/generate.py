"""Writes the benchmark checkpoints with real torch (torch.save, zip format).

usage: generate.py KIND OUT
  main         ~1.2 GB float32 state dict (embedding, blocks of Linear/LayerNorm, conv stem)
  transformer  ~430 MB BERT-base-shaped state dict: Linear weights with biases, to be transposed
  big          ~4.7 GB float32 state dict (one tensor of 2.3 GB), for the ZIP64 / memory case
"""
import sys
import torch

torch.manual_seed(0)


def blocks(sd, prefix, layers, d, ff):
    for i in range(layers):
        p = f"{prefix}.{i}"
        for name in ("query", "key", "value", "output"):
            sd[f"{p}.attn.{name}.weight"] = torch.randn(d, d)
            sd[f"{p}.attn.{name}.bias"] = torch.randn(d)
        sd[f"{p}.ln1.weight"] = torch.ones(d)
        sd[f"{p}.ln1.bias"] = torch.zeros(d)
        sd[f"{p}.mlp.fc1.weight"] = torch.randn(ff, d)
        sd[f"{p}.mlp.fc1.bias"] = torch.randn(ff)
        sd[f"{p}.mlp.fc2.weight"] = torch.randn(d, ff)
        sd[f"{p}.mlp.fc2.bias"] = torch.randn(d)
        sd[f"{p}.ln2.weight"] = torch.ones(d)
        sd[f"{p}.ln2.bias"] = torch.zeros(d)


def main_checkpoint():
    sd = {}
    sd["stem.conv.weight"] = torch.randn(64, 3, 7, 7)
    sd["stem.bn.weight"] = torch.ones(64)
    sd["stem.bn.bias"] = torch.zeros(64)
    sd["stem.bn.running_mean"] = torch.zeros(64)
    sd["stem.bn.running_var"] = torch.ones(64)
    sd["stem.bn.num_batches_tracked"] = torch.tensor(0)
    sd["embeddings.word_embeddings.weight"] = torch.randn(32000, 1024)
    blocks(sd, "encoder.layer", 22, 1024, 4096)
    sd["head.weight"] = torch.randn(1000, 1024)
    sd["head.bias"] = torch.randn(1000)
    return sd


def transformer_checkpoint():
    sd = {"embeddings.word_embeddings.weight": torch.randn(30522, 768)}
    blocks(sd, "encoder.layer", 12, 768, 3072)
    sd["pooler.dense.weight"] = torch.randn(768, 768)
    sd["pooler.dense.bias"] = torch.randn(768)
    return sd


def big_checkpoint():
    # Linear blocks, then one 2.3 GB embedding: a single tensor over 2 GiB at offsets past 2 GiB.
    sd = {}
    blocks(sd, "encoder.layer", 12, 2048, 8192)
    sd["embeddings.word_embeddings.weight"] = torch.randn(280000, 2048)
    return sd


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    sd = {"main": main_checkpoint, "transformer": transformer_checkpoint, "big": big_checkpoint}[kind]()
    total = sum(t.numel() * t.element_size() for t in sd.values())
    torch.save(sd, out)
    print(f"{out}: {len(sd)} tensors, {total / 1e9:.2f} GB", file=sys.stderr)
