import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The independent bundle reader (bundle_reader.py) as a library: its functions without the call to main. */
export const READER = readFileSync(join(import.meta.dirname, "bundle_reader.py"), "utf8").replace(/\nmain\(sys\.argv\[1\]\)\s*$/, "\n");

/** The object graph of the bundle, decoded here from the proto's field numbers (TrackableObjectGraph), and every numeric entry's values. */
export const GRAPH_AND_VALUES = String.raw`
import sys, json, io, contextlib
prefix = sys.argv[1]
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    main(prefix)
listing = json.loads(buf.getvalue())["tensors"]
idx = open(prefix + ".index", "rb").read()
footer = idx[-48:]
_, i = varint(footer, 0); _, i = varint(footer, i)
io_, i = varint(footer, i); isz, i = varint(footer, i)
entries = []
for _, handle in block(idx, io_, isz):
    o, j = varint(handle, 0); s, _ = varint(handle, j)
    entries += block(idx, o, s)
d = dict(fields(dict(entries)[b"_CHECKPOINTABLE_OBJECT_GRAPH"]))
raw = open(prefix + ".data-00000-of-00001", "rb").read()[d.get(4, 0):d.get(4, 0) + d[5]]
n, at = varint(raw, 0)
graph = raw[at + 4:at + 4 + n]
full = {}
for f, node in fields(graph):
    for g, attr in fields(node):
        if g == 2:
            a = dict(fields(attr))
            full[a[3].decode()] = a.get(2, b"").decode()
print(json.dumps({k: {"full_name": full.get(k), "values": v.get("values"), "crc_ok": v["crc_ok"]} for k, v in listing.items() if k in full}))
`;

/**
 * Python: whether a torch .tar's pickle imports only what torch's weights_only unpickler allows
 * (torch 1.13's weights_only refuses any float in param_groups, so its imports are checked instead).
 */
export const WEIGHTS_ONLY_IMPORTS = String.raw`
import zipfile, pickletools
WEIGHTS_ONLY_ALLOWED = {"collections OrderedDict", "torch FloatStorage", "torch._utils _rebuild_tensor_v2"}
def weights_only_imports(tar):
    z = zipfile.ZipFile(tar)
    pkl = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
    return {arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"} <= WEIGHTS_ONLY_ALLOWED
`;

/**
 * Python, after WEIGHTS_ONLY_IMPORTS: a step check's inputs from argv (the .tar, the decoded object
 * graph's JSON, keras_metadata.pb): `value(full_name)` of a variable, `ok` with the crc verdict, and
 * the compiled `optimizer` (class_name, config) from the training_config.
 */
export const TAR_GRAPH_OPTIMIZER = String.raw`
import sys, json, numpy as np, torch
tar, graph_json, keras_metadata = sys.argv[1:4]
graph = json.load(open(graph_json))
by_name = {e["full_name"]: e for e in graph.values()}
ok = {"crc": all(e["crc_ok"] for e in graph.values() if e["values"] is not None)}
value = lambda full: np.array(by_name[full]["values"], dtype=np.float32).astype(np.float64)
text = open(keras_metadata, "rb").read().decode("latin-1")
optimizer, _ = json.JSONDecoder().raw_decode(text, text.index('"optimizer_config": ') + len('"optimizer_config": '))
`;

/**
 * Python, after `entries` (bundle_reader.py's JSON "tensors") is set: `w(key)`, an object-graph
 * variable's value (its crc checked), and `slot(var, name)`, an optimizer slot of it.
 */
export const BUNDLE_VARIABLES = String.raw`
def w(key):
    e = entries[key + "/.ATTRIBUTES/VARIABLE_VALUE"]
    assert e["crc_ok"], key
    return np.array(e["values"], dtype=np.float32 if e["dtype"] == 1 else np.int64).reshape(e["shape"])
slot = lambda var, s: w(var + "/.OPTIMIZER_SLOT/optimizer/" + s)
`;
