"""Python baselines for bench/run.mjs (what a user would otherwise run).

usage: baselines.py MODE IN OUT
  save        torch.load + torch.save
  pdparams    torch.load + pickle {name: numpy array} as a .pdparams (protocol 4, as paddle.save)
  torch2paddle  the same, with Linear weights transposed to Paddle's [in, out]
  check-zip64 IN is the original, OUT our >4 GiB .pth: zipfile CRC check and torch.load equality
"""
import pickle
import sys
import zipfile

import torch

mode, src, out = sys.argv[1:4]

if mode == "check-zip64":
    with zipfile.ZipFile(out) as z:
        bad = z.testzip()
        assert bad is None, f"CRC mismatch in {bad}"
        big = max(i.header_offset for i in z.infolist())
        print(f"zipfile: {len(z.infolist())} entries CRC-checked, last header at {big / 2**30:.2f} GiB")
    a = torch.load(src, map_location="cpu")
    b = torch.load(out, map_location="cpu", weights_only=True)
    assert list(a) == list(b), "names or order differ"
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), k
    print(f"torch.load(weights_only=True): {len(b)} tensors equal to the original")
    sys.exit(0)

sd = torch.load(src, map_location="cpu")
if mode == "save":
    torch.save(sd, out)
elif mode in ("pdparams", "torch2paddle"):
    arrays = {}
    for k, v in sd.items():
        if mode == "torch2paddle" and v.dim() == 2 and k.endswith(".weight") and "embeddings" not in k:
            v = v.t().contiguous()
        arrays[k] = v.numpy()
    with open(out, "wb") as f:
        pickle.dump(arrays, f, protocol=4)
else:
    sys.exit(f"unknown mode {mode}")
