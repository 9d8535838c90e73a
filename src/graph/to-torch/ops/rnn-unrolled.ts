import type { TorchOp } from "../op.js";
import { pyFloat } from "../python.js";

// LSTM, GRU and RNN in the forms torch's layers do not compute (GRU with linear_before_reset=0,
// peepholes, clip, sequence_lens, reverse direction, layout=1, input_forget, weights computed at
// run time, Relu/Softsign/Softplus activations): the ONNX equations step by step, in one helper
// written into the module. Steps past a sequence's length leave the state as it was and give
// zeros in Y; a reverse direction reads each sequence backwards within its own length.

const RECURRENCE = `def onnx_recurrence(kind, x, w, r, b, lens, h0, c0, p, hidden, reverse, acts, clip=None, linear_before_reset=0, input_forget=0):
    """ONNX RNN/GRU/LSTM over time-major x [T, N, I]: Y [T, D, N, H], Y_h and Y_c [D, N, H]."""
    steps, batch = x.shape[0], x.shape[1]
    gates = w.shape[1] // hidden
    if b is None:
        b = x.new_zeros(w.shape[0], 2 * gates * hidden)
    if lens is None:
        lens = torch.full((batch,), steps, dtype=torch.int64, device=x.device)
    lens = lens.to(torch.int64).view(1, -1)
    time = torch.arange(steps, device=x.device).view(-1, 1)
    valid = (time < lens).unsqueeze(-1)
    cut = (lambda v: v.clamp(-clip, clip)) if clip is not None else (lambda v: v)
    per = len(acts) // len(reverse)
    ys, hs, cs = [], [], []
    for d, backwards in enumerate(reverse):
        f, g, h = (acts[d * per:(d + 1) * per] + [None, None])[:3]
        index = ((lens - 1 - time) if backwards else time.expand(steps, batch)).clamp(min=0).unsqueeze(-1)
        xs = x.gather(0, index.expand(-1, -1, x.shape[2]))
        wb, rb = b[d, :gates * hidden], b[d, gates * hidden:]
        state = h0[d] if h0 is not None else x.new_zeros(batch, hidden)
        cell = c0[d] if c0 is not None else x.new_zeros(batch, hidden)
        out = []
        for s in range(steps):
            xw = xs[s] @ w[d].t() + wb
            if kind == "LSTM":
                i, o, forget, c = (xw + state @ r[d].t() + rb).chunk(4, -1)
                if p is not None:
                    i = i + p[d, :hidden] * cell
                    forget = forget + p[d, 2 * hidden:] * cell
                i = f(cut(i))
                forget = 1 - i if input_forget else f(cut(forget))
                new_cell = forget * cell + i * g(cut(c))
                if p is not None:
                    o = o + p[d, hidden:2 * hidden] * new_cell
                new = f(cut(o)) * h(new_cell)
                cell = torch.where(valid[s], new_cell, cell)
            elif kind == "GRU":
                xz, xr, xh = xw.chunk(3, -1)
                rz, rr, rh = (state @ r[d].t() + rb).chunk(3, -1)
                z = f(cut(xz + rz))
                reset = f(cut(xr + rr))
                if linear_before_reset:
                    candidate = g(cut(xh + reset * rh))
                else:
                    candidate = g(cut(xh + (reset * state) @ r[d, 2 * hidden:].t() + rb[2 * hidden:]))
                new = (1 - z) * candidate + z * state
            else:
                new = f(cut(xw + state @ r[d].t() + rb))
            state = torch.where(valid[s], new, state)
            out.append(torch.where(valid[s], new, torch.zeros_like(new)))
        ys.append(torch.stack(out).gather(0, index.expand(-1, -1, hidden)) * valid)
        hs.append(state)
        cs.append(cell)
    return torch.stack(ys, 1), torch.stack(hs), torch.stack(cs)
`;

const ACTIVATIONS: Record<string, string> = {
  Sigmoid: "torch.sigmoid",
  Tanh: "torch.tanh",
  Relu: "torch.relu",
  Softsign: "F.softsign",
  Softplus: "F.softplus",
};

/** Writes the node as a call of the step-by-step helper. `activations` are ONNX names, per direction. */
export function unrolledRecurrence(op: TorchOp, kind: string, hidden: number, directions: string, activations: string[]): void {
  const functions = activations.map((a) => ACTIVATIONS[a] ?? op.refuse(`activation ${a} is not covered (${Object.keys(ACTIVATIONS).join(", ")} are)`));
  const layout = op.version >= 14 ? op.attrInt("layout", 0) : 0;
  const clip = op.hasAttr("clip") ? pyFloat(op.attrFloat("clip")) : "None";
  const lbr = kind === "GRU" ? op.attrInt("linear_before_reset", 0) : 0;
  const inputForget = kind === "LSTM" ? op.attrInt("input_forget", 0) : 0;
  const reverse = directions === "bidirectional" ? "[False, True]" : directions === "reverse" ? "[True]" : "[False]";
  const optional = (i: number, batchMajor = false) => (op.has(i) ? (layout && batchMajor ? `${op.input(i)}.transpose(0, 1)` : op.input(i)) : "None");
  const x = layout ? `${op.input(0)}.transpose(0, 1)` : op.input(0);
  const args = [
    JSON.stringify(kind),
    x,
    op.input(1),
    op.input(2),
    optional(3),
    optional(4),
    optional(5, true),
    kind === "LSTM" ? optional(6, true) : "None",
    kind === "LSTM" ? optional(7) : "None",
    String(hidden),
    reverse,
    `[${functions.join(", ")}]`,
  ];
  if (clip !== "None") args.push(`clip=${clip}`);
  if (lbr) args.push("linear_before_reset=1");
  if (inputForget) args.push("input_forget=1");
  const wanted = (i: number) => i < op.outputCount && op.wants(i);
  const names = [0, 1, 2].map((i) => (!wanted(i) ? "_" : layout ? op.temp(`${op.output(i)}_steps`) : op.output(i)));
  op.line(`# ${op.node.name} (${op.node.op}): step by step`);
  op.line(`${names.join(", ")} = ${op.helper("onnx_recurrence", RECURRENCE)}(${args.join(", ")})`);
  // ONNX layout 1 is batch-major: Y [N, T, D, H], Y_h and Y_c [N, D, H].
  names.forEach((name, i) => {
    if (name === "_") return;
    if (layout) op.line(`${op.output(i)} = ${i === 0 ? `${name}.permute(2, 0, 1, 3)` : `${name}.transpose(0, 1)`}`);
    op.setDtype(i, op.dtype(0), i === 0 ? 4 : 3);
  });
}
