"""An independent reader of TensorFlow tensor bundles, for the interop tests.

Written from the format description (LevelDB table format doc; tensor_bundle.proto), not from
weightbridge's TypeScript. Prints JSON: header fields and, per key, dtype, shape, size, whether
the stored crc32c matches the bytes, and the values (numeric entries) as a flat list.
Usage: bundle_reader.py PREFIX   (reads PREFIX.index and PREFIX.data-*)
"""
import json, struct, sys

POLY = 0x82F63B78
TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

def unmask(m):
    rot = (m - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF

def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]; i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7

def block(buf, offset, size):
    kind = buf[offset + size]
    (stored,) = struct.unpack_from("<I", buf, offset + size + 1)
    assert unmask(stored) == crc32c(buf[offset:offset + size + 1]), "block crc"
    assert kind == 0, "compressed block"
    data = buf[offset:offset + size]
    (restarts,) = struct.unpack_from("<I", data, len(data) - 4)
    end = len(data) - 4 - 4 * restarts
    i, key, out = 0, b"", []
    while i < end:
        shared, i = varint(data, i)
        unshared, i = varint(data, i)
        vlen, i = varint(data, i)
        key = key[:shared] + data[i:i + unshared]; i += unshared
        out.append((key, data[i:i + vlen])); i += vlen
    return out

def fields(buf):
    i, out = 0, []
    while i < len(buf):
        tag, i = varint(buf, i)
        f, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i); v = buf[i:i + n]; i += n
        elif wt == 5:
            v = struct.unpack_from("<I", buf, i)[0]; i += 4
        elif wt == 1:
            v = struct.unpack_from("<Q", buf, i)[0]; i += 8
        else:
            raise ValueError("wire type %d" % wt)
        out.append((f, v))
    return out

FMT = {1: "f", 2: "d", 3: "i", 4: "B", 5: "h", 6: "b", 9: "q", 10: "?", 17: "H", 22: "I", 23: "Q"}
SIZE = {1: 4, 2: 8, 3: 4, 4: 1, 5: 2, 6: 1, 8: 8, 9: 8, 10: 1, 14: 2, 17: 2, 18: 16, 19: 2, 22: 4, 23: 8}

def main(prefix):
    idx = open(prefix + ".index", "rb").read()
    assert idx[-8:] == struct.pack("<Q", 0xDB4775248B80FB57), "magic"
    footer = idx[-48:]
    _, i = varint(footer, 0); _, i = varint(footer, i)
    io, i = varint(footer, i); isz, i = varint(footer, i)
    entries = []
    for _, handle in block(idx, io, isz):
        o, j = varint(handle, 0); s, _ = varint(handle, j)
        entries += block(idx, o, s)
    assert entries[0][0] == b"", "header first"
    header = dict(fields(entries[0][1]))
    shards = header.get(1, 0)
    files = [open("%s.data-%05d-of-%05d" % (prefix, n, shards), "rb").read() for n in range(shards)]
    out = {"num_shards": shards, "tensors": {}}
    for key, value in entries[1:]:
        f = fields(value)
        d = dict(f)
        dims = [dict(fields(dim)).get(1, 0) for n, dim in fields(d.get(2, b"")) if n == 2]
        dtype, shard, off, size, crc = d.get(1, 0), d.get(3, 0), d.get(4, 0), d.get(5, 0), d.get(6, 0)
        raw = files[shard][off:off + size]
        info = {"dtype": dtype, "shape": dims, "size": size, "short": len(raw) != size}
        if dtype == 7:
            info["crc_ok"] = None  # string entries checksum their lengths as integers; not rechecked here
        else:
            info["crc_ok"] = crc32c(raw) == unmask(crc)
            count = 1
            for n in dims:
                count *= n
            if dtype in FMT and count * SIZE[dtype] == size:
                info["values"] = list(struct.unpack("<%d%s" % (count, FMT[dtype]), raw))
        out["tensors"][key.decode("utf-8", "replace")] = info
    print(json.dumps(out))

main(sys.argv[1])
