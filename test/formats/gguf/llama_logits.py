"""Runs a tiny llama two ways and prints the logits' differences as JSON (plain torch, no transformers).

argv: GGUF SAFETENSORS TOKENS_JSON
- hf: the safetensors weightbridge wrote with --map gguf2hf, loaded with strict=True into a module
  written like transformers' LlamaForCausalLM (rotate_half rotary embedding);
- gguf_undone: the GGUF's own tensors (read here by a minimal GGUF parser) with llama.cpp's Q/K
  row permutation undone in this script, through the same module;
- gguf_native: the GGUF's tensors as they are, through the module with llama.cpp's rotary
  embedding (rotating adjacent pairs, ggml's "normal" RoPE), which is what llama.cpp computes.
"""
import json
import struct
import sys

import numpy as np
import torch

GGUF_PATH, SAFETENSORS_PATH, TOKENS_PATH = sys.argv[1:4]

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf(path):
    data = open(path, "rb").read()
    at = 0

    def take(fmt):
        nonlocal at
        value = struct.unpack_from(fmt, data, at)[0]
        at += struct.calcsize(fmt)
        return value

    def string():
        nonlocal at
        n = take("<Q")
        at += n
        return data[at - n:at].decode()

    def value(vtype):
        if vtype == 8:
            return string()
        if vtype == 9:
            etype, count = take("<I"), take("<Q")
            return [value(etype) for _ in range(count)]
        return take(SCALARS[vtype])

    assert data[:4] == b"GGUF"
    at = 8
    n_tensors, n_kv = take("<Q"), take("<Q")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        infos.append((name, dims[::-1], take("<I"), take("<Q")))
    align = meta.get("general.alignment", 32)
    start = (at + align - 1) // align * align
    tensors = {}
    for name, shape, ggml_type, offset in infos:
        dtype = {0: np.float32, 1: np.float16}[ggml_type]
        count = int(np.prod(shape))
        array = np.frombuffer(data, dtype=dtype, count=count, offset=start + offset).reshape(shape)
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return meta, tensors


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack_from("<Q", data, 0)[0]
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out, header.get("__metadata__", {})


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, h, kv = cfg["dim"], cfg["heads"], cfg["kv_heads"]
        self.h, self.kv, self.hd, self.base, self.pairs = h, kv, d // h, cfg["rope_base"], cfg["pairs"]
        self.q_proj = torch.nn.Linear(d, h * self.hd, bias=False)
        self.k_proj = torch.nn.Linear(d, kv * self.hd, bias=False)
        self.v_proj = torch.nn.Linear(d, kv * self.hd, bias=False)
        self.o_proj = torch.nn.Linear(h * self.hd, d, bias=False)

    def rope(self, x):
        t = x.shape[2]
        inv = 1.0 / (self.base ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        freqs = torch.outer(torch.arange(t, dtype=torch.float32), inv)
        if self.pairs:  # llama.cpp: (x[2i], x[2i+1]) rotated by the i-th frequency
            x0, x1 = x[..., 0::2], x[..., 1::2]
            cos, sin = freqs.cos(), freqs.sin()
            return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return x * emb.cos() + rotate_half(x) * emb.sin()

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = self.rope(q), self.rope(k)
        k = k.repeat_interleave(self.h // self.kv, dim=1)
        v = v.repeat_interleave(self.h // self.kv, dim=1)
        scores = q @ k.transpose(-1, -2) / self.hd ** 0.5
        scores = scores.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
        return self.o_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1))


class MLP(torch.nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.gate_proj = torch.nn.Linear(d, f, bias=False)
        self.up_proj = torch.nn.Linear(d, f, bias=False)
        self.down_proj = torch.nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(torch.nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg["dim"], cfg["ffn"])
        self.input_layernorm = RMSNorm(cfg["dim"], cfg["eps"])
        self.post_attention_layernorm = RMSNorm(cfg["dim"], cfg["eps"])

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(cfg["vocab"], cfg["dim"])
        self.layers = torch.nn.ModuleList([Layer(cfg) for _ in range(cfg["layers"])])
        self.norm = RMSNorm(cfg["dim"], cfg["eps"])


class LlamaForCausalLM(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = Inner(cfg)
        self.lm_head = torch.nn.Linear(cfg["dim"], cfg["vocab"], bias=False)

    def forward(self, tokens):
        x = self.model.embed_tokens(tokens)
        for layer in self.model.layers:
            x = layer(x)
        return self.lm_head(self.model.norm(x))


def hf_names(gguf_tensors, undo):
    """GGUF names → transformers names, written here independently of weightbridge's preset."""
    out = {}
    parts = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
    for name, t in gguf_tensors.items():
        if name == "token_embd.weight":
            out["model.embed_tokens.weight"] = t
        elif name == "output_norm.weight":
            out["model.norm.weight"] = t
        elif name == "output.weight":
            out["lm_head.weight"] = t
        else:
            _, layer, part, _ = name.split(".")
            if part in undo:
                heads = undo[part]
                t = t.reshape(heads, t.shape[0] // heads // 2, 2, t.shape[1]).transpose(1, 2).reshape(t.shape)
            out[f"model.layers.{layer}.{parts[part]}.weight"] = t
    return out


meta, gguf_tensors = read_gguf(GGUF_PATH)
cfg = {"dim": meta["llama.embedding_length"], "heads": meta["llama.attention.head_count"],
       "kv_heads": meta["llama.attention.head_count_kv"], "ffn": meta["llama.feed_forward_length"],
       "layers": meta["llama.block_count"], "eps": meta["llama.attention.layer_norm_rms_epsilon"],
       "rope_base": meta["llama.rope.freq_base"], "vocab": gguf_tensors["token_embd.weight"].shape[0]}
tokens = torch.tensor([json.load(open(TOKENS_PATH))["tokens"]])

converted, st_meta = read_safetensors(SAFETENSORS_PATH)
hf = LlamaForCausalLM({**cfg, "pairs": False})
hf.load_state_dict({k: v.float() for k, v in converted.items()}, strict=True)

undone = LlamaForCausalLM({**cfg, "pairs": False})
undone.load_state_dict(hf_names(gguf_tensors, {"attn_q": cfg["heads"], "attn_k": cfg["kv_heads"]}), strict=True)
native = LlamaForCausalLM({**cfg, "pairs": True})
native.load_state_dict(hf_names(gguf_tensors, {}), strict=True)

with torch.no_grad():
    a, b, c = hf(tokens), undone(tokens), native(tokens)
print(json.dumps({
    "hf_vs_gguf_undone": (a - b).abs().max().item(),
    "hf_vs_gguf_native": (a - c).abs().max().item(),
    "logit_scale": a.abs().max().item(),
    "format": st_meta.get("format"),
}))
