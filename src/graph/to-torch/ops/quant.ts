import { registerAll, type TorchOp } from "../op.js";
import { torchDtype } from "../python.js";

// QuantizeLinear / DequantizeLinear (per-tensor, or per-axis with `axis`) as the arithmetic
// they define: torch's quantized tensors are a different type, the graph's are plain integers.

const RANGES: Record<string, [number, number]> = { uint8: [0, 255], int8: [-128, 127] };

/** A per-axis scale (1-D) reshaped to broadcast along `axis`. */
function along(op: TorchOp, i: number, axis: number): string {
  const v = op.input(i);
  const rank = op.rank(i);
  if (rank === 0 || op.constant(i)?.shape.length === 0) return v;
  return `${v}.reshape([-1 if d == ${axis} % ${op.input(0)}.dim() else 1 for d in range(${op.input(0)}.dim())])`;
}

registerAll(
  {
    // Scale and zero point from the input's range (including 0), then QuantizeLinear to uint8.
    DynamicQuantizeLinear: (op) => {
      const x = op.input(0);
      const [y, scale, zero] = [0, 1, 2].map((i) => (op.wants(i) ? op.output(i) : op.temp("unused")));
      const [low, high] = [op.temp("low"), op.temp("high")];
      op.line(`# ${op.node.name} (DynamicQuantizeLinear)`);
      op.line(`${low}, ${high} = torch.clamp(${x}.min(), max=0), torch.clamp(${x}.max(), min=0)`);
      op.line(`${scale} = (${high} - ${low}) / 255`);
      op.line(`${zero} = torch.clamp(torch.round(-${low} / ${scale}), 0, 255).to(torch.uint8)`);
      op.line(`${y} = torch.clamp(torch.round(${x} / ${scale}) + ${zero}, 0, 255).to(torch.uint8)`);
      [
        ["uint8", op.rank(0)],
        ["float32", 0],
        ["uint8", 0],
      ].forEach(([d, r], i) => op.wants(i) && op.setDtype(i, d as "uint8", r as number | undefined));
    },
    QuantizeLinear: (op) => {
      const axis = op.attrInt("axis", 1);
      const dtype = op.has(2) ? op.dtype(2) : "uint8";
      const range = (dtype && RANGES[dtype]) ?? op.refuse(`quantizing to ${dtype} is not covered`);
      const zero = op.has(2) ? ` + ${along(op, 2, axis)}` : "";
      const q = `torch.clamp(torch.round(${op.input(0)} / ${along(op, 1, axis)})${zero}, ${range[0]}, ${range[1]}).to(${torchDtype(dtype!)})`;
      op.assign(q, { dtype, comment: true });
    },
    DequantizeLinear: (op) => {
      const axis = op.attrInt("axis", 1);
      const x = `${op.input(0)}.to(torch.float32)`;
      const zero = op.has(2) ? ` - ${along(op, 2, axis)}.to(torch.float32)` : "";
      op.assign(`(${x}${zero}) * ${along(op, 1, axis)}`, { dtype: "float32", comment: true });
    },
  },
  10,
);
