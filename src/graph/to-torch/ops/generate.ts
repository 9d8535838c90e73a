import { numelOf } from "../../../tensor/dtype.js";
import { registerAll, torchOps } from "../op.js";
import { pyList, torchDtype } from "../python.js";
import { dtypeOfOnnxId } from "../onnx-types.js";
import { intList } from "./shape.js";

// Values made rather than computed from inputs: constants, filled tensors, ranges, casts, and
// Dropout (inference: identity).

torchOps.register({
  domain: "",
  op: "Constant",
  since: 1,
  handler: (op) => {
    const [name] = Object.keys(op.node.attributes);
    if (name === "value" || name === "sparse_value") return op.bindConstant(0, op.attrTensor(name));
    const dtype = name === "value_float" || name === "value_floats" ? "torch.float32" : "torch.int64";
    const value =
      name === "value_float"
        ? String(op.attrFloat(name))
        : name === "value_int"
          ? String(op.attrInt(name))
          : name === "value_floats"
            ? pyList(op.attrFloats(name).map(String))
            : name === "value_ints"
              ? pyList(op.attrInts(name).map(String))
              : op.refuse(`attribute '${name}' is not covered`);
    op.assign(`torch.tensor(${value}, dtype=${dtype})`, { dtype: dtype === "torch.float32" ? "float32" : "int64" });
  },
});

registerAll(
  {
    ConstantOfShape: (op) => {
      const value = op.hasAttr("value") ? op.attrTensor("value") : undefined;
      const known = value ? op.valuesOf(value) : undefined;
      if (value && known?.values.length !== 1) op.refuse("value must hold one number");
      const dtype = value?.dtype ?? "float32";
      const fill = known ? op.literal({ ...known, shape: [] }) : "0.0";
      op.assign(`torch.full(${intList(op, 0)}, ${fill}, dtype=${torchDtype(dtype) ?? op.refuse(`dtype ${dtype} is not covered`)})`, {
        dtype,
        rank: op.constant(0)?.values.length,
      });
    },
  },
  9,
);

registerAll(
  {
    Range: (op) => {
      const number = (i: number) => (op.constant(i) ? op.scalarOr(i) : `${op.input(i)}.item()`);
      const dtype = op.dtype(0) ?? op.refuse("the start's dtype is unknown");
      op.assign(`torch.arange(${number(0)}, ${number(1)}, ${number(2)}, dtype=${torchDtype(dtype)})`, { dtype });
    },
  },
  11,
);

const castTo = (id: number, refuse: (what: string) => never) => {
  const dtype = dtypeOfOnnxId(id) ?? refuse(`cast to ONNX type ${id} is not covered`);
  return { dtype, torch: torchDtype(dtype) ?? refuse(`cast to ${dtype} is not covered (torch 1.13 has no such dtype)`) };
};
registerAll(
  {
    Cast: (op) => {
      if (op.version >= 19) op.attrInt("saturate", 1);
      const { dtype, torch } = castTo(op.attrInt("to"), (w) => op.refuse(w));
      if (dtype === "bfloat16" && op.version < 19) op.refuse(BFLOAT16);
      op.assign(`${op.input(0)}.to(${torch})`, { dtype, rank: op.rank(0) });
    },
  },
  6,
);
// onnx's own tests truncated to bfloat16 before opset 19 said "round to nearest even", which torch does.
const BFLOAT16 = "a cast to bfloat16 rounds differently in ONNX runtimes before opset 19 (truncation or nearest-even)";
registerAll(
  {
    CastLike: (op) => {
      if (op.dtype(1) === "bfloat16" && op.version < 19) op.refuse(BFLOAT16);
      op.assign(`${op.input(0)}.to(${op.input(1)}.dtype)`, { dtype: op.dtype(1), rank: op.rank(0) });
    },
  },
  15,
);

registerAll(
  {
    Dropout: (op) => {
      if (op.version < 12 && op.hasAttr("ratio")) op.attrFloat("ratio");
      if (op.version >= 12) op.attrInt("seed", 0);
      if (op.version >= 12 && op.has(2)) {
        const training = op.constant(2);
        if (!training || training.values[0] !== 0) op.refuse("training_mode other than a constant false is not covered");
      }
      const x = op.input(0);
      op.assign([x, `torch.ones_like(${x}, dtype=torch.bool)`], { dtype: [op.dtype(0), "bool"], rank: op.rank(0) });
    },
  },
  7,
);

registerAll(
  {
    EyeLike: (op) => {
      const k = op.attrInt("k", 0);
      const x = op.input(0);
      const dtype = op.hasAttr("dtype") ? castTo(op.attrInt("dtype"), (w) => op.refuse(w)) : { dtype: op.dtype(0), torch: `${x}.dtype` };
      const eye = `torch.ones(${x}.shape[0], ${x}.shape[1], dtype=${dtype.torch}).tril(${k}).triu(${k})`;
      op.assign(eye, { dtype: dtype.dtype, comment: true });
    },
  },
  9,
);
