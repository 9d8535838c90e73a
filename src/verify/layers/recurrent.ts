import { CONVENTIONS } from "../../vocabulary/conventions.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Param } from "../params.js";
import { Disagreement, type Framework, type LayerSide, type Reference, numberAttr } from "../reference.js";
import { NotCheckable } from "../params.js";

// LSTM, GRU and simple RNN, stacked and bidirectional, as each framework lays them out:
//   PyTorch / Paddle: weight_ih_l{k}[_reverse] [G·H, in], weight_hh [G·H, H], bias_ih, bias_hh [G·H]
//                     gates LSTM i f g o, GRU r z n (n = tanh(Wx + b + r ∘ (Uh + b_hn)))
//   Keras:            kernel [in, G·H], recurrent_kernel [H, G·H], bias [G·H], or [2, G·H] for
//                     GRU reset_after=True (input bias, recurrent bias); gates LSTM i f c o, GRU z r h;
//                     reset_after=False: h̃ = tanh(Wx + b + U(r ∘ h)). Stacked = consecutive layers,
//                     Bidirectional = forward_*/backward_* sub-layers.
//   ONNX:             W [dirs, G·H, in], R [dirs, G·H, H], B [dirs, 2·G·H] (Wb then Rb); gates
//                     LSTM i o f c, GRU z r h with linear_before_reset (1 = reset after), RNN tanh.
// Every framework: LSTM c' = f∘c + i∘g, h' = o∘tanh(c'); GRU h' = z∘h + (1−z)∘n; RNN h' = tanh(Wx + Uh + b).

type Kind = "lstm" | "gru" | "rnn";
type Gate = "i" | "f" | "g" | "o" | "r" | "z" | "n" | "h";

const ORDER: Record<Framework, Record<Kind, Gate[]>> = {
  pytorch: { lstm: ["i", "f", "g", "o"], gru: ["r", "z", "n"], rnn: ["h"] },
  paddle: { lstm: ["i", "f", "g", "o"], gru: ["r", "z", "n"], rnn: ["h"] },
  keras: { lstm: ["i", "f", "g", "o"], gru: ["z", "r", "n"], rnn: ["h"] },
  onnx: { lstm: ["i", "o", "f", "g"], gru: ["z", "r", "n"], rnn: ["h"] },
  // TFLite keeps each LSTM gate in its own tensor, named by slot (input, forget, cell, output).
  tflite: { lstm: ["i", "f", "g", "o"], gru: ["z", "r", "n"], rnn: ["h"] },
};

interface Direction<T> {
  backward: boolean;
  wx: T;
  wh: T;
  bx?: T;
  bh?: T;
  /** Flat indices of W[gate position p, unit u, input i], U[p, u, j], bx[p, u], bh[p, u]. */
  ix(p: number, u: number, i: number): number;
  ih(p: number, u: number, j: number): number;
  ibx(p: number, u: number): number;
  ibh(p: number, u: number): number;
  input: number;
}

interface Structure<T> {
  hidden: number;
  layers: Direction<T>[][];
  resetAfter: boolean;
}

type Shaped = { readonly name: string; readonly shape: readonly number[] };

function dims<T extends Shaped>(t: T, rank: number, what: string): number[] {
  if (t.shape.length !== rank) throw new Disagreement(`${what} ${t.name} is [${t.shape.join(",")}], expected ${rank}-D`);
  return [...t.shape];
}

function torchLike<T extends Shaped>(side: LayerSide<T>, G: number): Structure<T> {
  const byLayer = new Map<number, Map<boolean, Record<string, T>>>();
  for (const [r, t] of side.roles) {
    // PyTorch names; Paddle also stores `0.cell.weight_ih` aliases of the same values.
    const m = /^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$/.exec(r);
    if (!m) continue;
    const layer = Number(m[2]);
    const dirs = byLayer.get(layer) ?? new Map<boolean, Record<string, T>>();
    byLayer.set(layer, dirs);
    const d = dirs.get(m[3] !== undefined) ?? {};
    dirs.set(m[3] !== undefined, d);
    d[m[1]!] = t;
  }
  if (!byLayer.size) throw new Disagreement(`${side.framework} side has no weight_ih_l0 (it has ${[...side.roles.keys()].join(", ")})`);
  let hidden = 0;
  const layers = [...byLayer.keys()]
    .sort((a, b) => a - b)
    .map((l) =>
      [false, true]
        .filter((b) => byLayer.get(l)!.has(b))
        .map((backward): Direction<T> => {
          const p = byLayer.get(l)!.get(backward)!;
          if (!p.weight_ih || !p.weight_hh) throw new Disagreement(`layer ${l}${backward ? " reverse" : ""} lacks weight_ih or weight_hh`);
          const [rows, input] = dims(p.weight_ih, 2, "weight_ih");
          const H = rows! / G;
          hidden = H;
          if (dims(p.weight_hh, 2, "weight_hh").join() !== `${G * H},${H}`)
            throw new Disagreement(`weight_hh ${p.weight_hh.name} is [${p.weight_hh.shape.join(",")}], expected [${G * H},${H}]`);
          return {
            backward,
            wx: p.weight_ih,
            wh: p.weight_hh,
            bx: p.bias_ih,
            bh: p.bias_hh,
            input: input!,
            ix: (g, u, i) => (g * H + u) * input! + i,
            ih: (g, u, j) => (g * H + u) * H + j,
            ibx: (g, u) => g * H + u,
            ibh: (g, u) => g * H + u,
          };
        }),
    );
  return { hidden, layers, resetAfter: true };
}

function keras<T extends Shaped>(side: LayerSide<T>, kind: Kind, G: number): Structure<T> {
  // Sub-layers in file order: `lstm_cell/kernel`, `forward_lstm/lstm_cell/kernel`, `lstm_1/kernel` ...
  const subs = new Map<string, Map<boolean, Record<string, T>>>();
  for (const [r, t] of side.roles) {
    const parts = r.split("/");
    const param = parts.pop()!;
    if (!["kernel", "recurrent_kernel", "bias"].includes(param)) continue;
    const backward = parts.some((p) => /^backward/.test(p));
    const key = parts.filter((p) => !/cell/.test(p) && !/^(forward|backward)/.test(p)).join("/");
    const dirs = subs.get(key) ?? new Map<boolean, Record<string, T>>();
    subs.set(key, dirs);
    const d = dirs.get(backward) ?? {};
    dirs.set(backward, d);
    d[param] = t;
  }
  if (!subs.size) throw new Disagreement(`keras side has no kernel/recurrent_kernel (it has ${[...side.roles.keys()].join(", ")})`);
  const stated = side.attributes.reset_after;
  let hidden = 0;
  let resetAfter: boolean | undefined;
  const layers = [...subs.values()].map((dirs) =>
    [false, true]
      .filter((b) => dirs.has(b))
      .map((backward): Direction<T> => {
        const p = dirs.get(backward)!;
        if (!p.kernel || !p.recurrent_kernel) throw new Disagreement(`a keras ${kind} sub-layer lacks kernel or recurrent_kernel`);
        const [input, cols] = dims(p.kernel, 2, "kernel");
        const H = cols! / G;
        hidden = H;
        if (dims(p.recurrent_kernel, 2, "recurrent_kernel").join() !== `${H},${G * H}`)
          throw new Disagreement(`recurrent_kernel ${p.recurrent_kernel.name} is [${p.recurrent_kernel.shape.join(",")}], expected [${H},${G * H}]`);
        const twoBiases = p.bias !== undefined && p.bias.shape.length === 2;
        if (kind === "gru") {
          const after = typeof stated === "boolean" ? stated : twoBiases;
          if (p.bias && after !== twoBiases) throw new Disagreement(`GRU reset_after=${after} but its bias is [${p.bias.shape.join(",")}]`);
          resetAfter = after;
        } else if (twoBiases) throw new Disagreement(`keras ${kind} bias ${p.bias!.name} is 2-D`);
        return {
          backward,
          wx: p.kernel,
          wh: p.recurrent_kernel,
          bx: p.bias,
          bh: twoBiases ? p.bias : undefined,
          input: input!,
          ix: (g, u, i) => i * G * H + g * H + u,
          ih: (g, u, j) => j * G * H + g * H + u,
          ibx: (g, u) => g * H + u,
          ibh: (g, u) => G * H + g * H + u,
        };
      }),
  );
  return { hidden, layers, resetAfter: resetAfter ?? true };
}

function onnx<T extends Shaped>(side: LayerSide<T>, kind: Kind, G: number): Structure<T> {
  const op = kind === "lstm" ? "LSTM" : kind === "gru" ? "GRU" : "RNN";
  const byLayer = new Map<number, Record<string, T>>();
  for (const [r, t] of side.roles) {
    const m = new RegExp(`^${op}:(W|R|B)#(\\d+)$`).exec(r);
    if (!m) continue;
    const d = byLayer.get(Number(m[2])) ?? {};
    byLayer.set(Number(m[2]), d);
    d[m[1]!] = t;
  }
  if (!byLayer.size) throw new Disagreement(`onnx side has no ${op} W (it has ${[...side.roles.keys()].join(", ")})`);
  const direction = String(side.attributes.direction ?? "forward");
  let hidden = 0;
  const layers = [...byLayer.keys()]
    .sort((a, b) => a - b)
    .map((l) => {
      const p = byLayer.get(l)!;
      if (!p.W || !p.R) throw new Disagreement(`${op} layer ${l} lacks W or R`);
      const [D, rows, input] = dims(p.W, 3, "W");
      const H = rows! / G;
      hidden = H;
      if (dims(p.R, 3, "R").join() !== `${D},${G * H},${H}`) throw new Disagreement(`R ${p.R.name} is [${p.R.shape.join(",")}]`);
      const backwardOf = (d: number) => (direction === "reverse" ? true : d === 1);
      return Array.from(
        { length: D! },
        (_, d): Direction<T> => ({
          backward: backwardOf(d),
          wx: p.W!,
          wh: p.R!,
          bx: p.B,
          bh: p.B,
          input: input!,
          ix: (g, u, i) => ((d * G + g) * H + u) * input! + i,
          ih: (g, u, j) => ((d * G + g) * H + u) * H + j,
          ibx: (g, u) => d * 2 * G * H + g * H + u,
          ibh: (g, u) => d * 2 * G * H + G * H + g * H + u,
        }),
      );
    });
  const resetAfter = (numberAttr(side.attributes, "linear_before_reset") ?? 0) === 1;
  return { hidden, layers, resetAfter };
}

function structure<T extends Shaped>(side: LayerSide<T>, kind: Kind): Structure<T> {
  const G = ORDER[side.framework][kind].length;
  const layout = CONVENTIONS[side.framework].recurrentWeights;
  if (layout === "keras-kernels") return keras(side, kind, G);
  if (layout === "onnx-wrb") return onnx(side, kind, G);
  return torchLike(side, G);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The activations a recurrent layer may name, with Keras' definitions (hard_sigmoid: kerasHardSigmoid). */
const FUNCTIONS: Record<string, (x: number) => number> = {
  sigmoid,
  tanh: Math.tanh,
  relu: (x) => Math.max(0, x),
  softsign: (x) => x / (1 + Math.abs(x)),
  softplus: (x) => Math.log1p(Math.exp(x)),
  linear: (x) => x,
};

interface Activations {
  /** The candidate's (and the LSTM cell output's) activation. */
  act: (x: number) => number;
  /** The gates' activation. */
  gate: (x: number) => number;
}

/** hard_sigmoid as the Keras major version that wrote the model defines it (a side states it as `keras_major`). */
export function kerasHardSigmoid(major: unknown): ((x: number) => number) | undefined {
  if (major === 2) return (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5));
  if (major === 3) return (x) => Math.min(6, Math.max(0, x + 3)) / 6;
  return undefined;
}

function activations(side: LayerSide<unknown>): Activations {
  const a = side.attributes;
  const named = (v: unknown, fallback: string) => (typeof v === "string" ? v.toLowerCase() : fallback);
  const lookup = (name: string) => (name === "hard_sigmoid" ? kerasHardSigmoid(a.keras_major) : FUNCTIONS[name]);
  const rec = named(a.recurrent_activation, "sigmoid");
  const gate = lookup(rec);
  if (!gate) throw new NotCheckable(`recurrent_activation '${rec}' has no reference here`);
  const name = named(a.activation ?? a.nonlinearity, "tanh");
  const act = lookup(name);
  if (!act) throw new NotCheckable(`activation '${name}' has no reference here`);
  return { act, gate };
}

/**
 * Paddle stores each RNN weight twice, as `weight_ih_l0` and as `0.cell.weight_ih` (`cell_fw`,
 * `cell_bw` when bidirectional); loading takes either, so both must hold the same values.
 */
function checkAliases(side: LayerSide<Param>): void {
  for (const [r, alias] of side.roles) {
    const m = /^(\d+)\.cell(_fw|_bw)?\.(weight_ih|weight_hh|bias_ih|bias_hh)$/.exec(r);
    if (!m) continue;
    const primary = side.roles.get(`${m[3]}_l${m[1]}${m[2] === "_bw" ? "_reverse" : ""}`);
    if (!primary) continue;
    const n = primary.shape.reduce((a, b) => a * b, 1);
    const same = alias.shape.join() === primary.shape.join() && Array.from({ length: n }, (_, i) => i).every((i) => alias.at(i) === primary.at(i));
    if (!same) throw new Disagreement(`${alias.name} does not hold the values of ${primary.name} (Paddle loads either)`);
  }
}

export interface RecurrentPlan {
  kind: Kind;
  batch: number;
  steps: number;
  input: number;
  hidden: number;
  layers: number;
  directions: number;
  /**
   * Set by the caller to get each sample's final LSTM cell states: forward fills it with
   * [sample][direction] of the last layer (a Keras LSTM's return_state gives them).
   */
  finalCells?: Float64Array[][];
}

function runDirection(
  d: Direction<Param>,
  kind: Kind,
  order: Gate[],
  H: number,
  resetAfter: boolean,
  { act, gate }: Activations,
  xs: Float64Array[],
): { out: Float64Array[]; cell: Float64Array } {
  const pos = Object.fromEntries(order.map((g, p) => [g, p])) as Record<Gate, number>;
  const I = d.input;
  let h = new Float64Array(H);
  let c = new Float64Array(H);
  const out = new Array<Float64Array>(xs.length);
  const steps = d.backward ? [...xs.keys()].reverse() : [...xs.keys()];
  const wx = (g: Gate, u: number, x: Float64Array) => {
    let acc = d.bx ? d.bx.at(d.ibx(pos[g], u)) : 0;
    for (let i = 0; i < I; i++) acc += d.wx.at(d.ix(pos[g], u, i)) * x[i]!;
    return acc;
  };
  const wh = (g: Gate, u: number, v: Float64Array) => {
    let acc = d.bh ? d.bh.at(d.ibh(pos[g], u)) : 0;
    for (let j = 0; j < H; j++) acc += d.wh.at(d.ih(pos[g], u, j)) * v[j]!;
    return acc;
  };
  for (const t of steps) {
    const x = xs[t]!;
    const nh = new Float64Array(H);
    if (kind === "lstm") {
      const nc = new Float64Array(H);
      for (let u = 0; u < H; u++) {
        const i = gate(wx("i", u, x) + wh("i", u, h));
        const f = gate(wx("f", u, x) + wh("f", u, h));
        const g = act(wx("g", u, x) + wh("g", u, h));
        const o = gate(wx("o", u, x) + wh("o", u, h));
        nc[u] = f * c[u]! + i * g;
        nh[u] = o * act(nc[u]!);
      }
      c = nc;
    } else if (kind === "gru") {
      const r = new Float64Array(H);
      const z = new Float64Array(H);
      for (let u = 0; u < H; u++) {
        r[u] = gate(wx("r", u, x) + wh("r", u, h));
        z[u] = gate(wx("z", u, x) + wh("z", u, h));
      }
      const rh = h.map((v, j) => v * r[j]!);
      for (let u = 0; u < H; u++) {
        const n = act(wx("n", u, x) + (resetAfter ? r[u]! * wh("n", u, h) : wh("n", u, rh)));
        nh[u] = z[u]! * h[u]! + (1 - z[u]!) * n;
      }
    } else {
      for (let u = 0; u < H; u++) nh[u] = act(wx("h", u, x) + wh("h", u, h));
    }
    h = nh;
    out[t] = nh;
  }
  return { out, cell: c };
}

export function recurrentReference(kind: Kind): Reference<RecurrentPlan> {
  return {
    kinds: [kind],
    plan(source: LayerSide<Tensor>, target: LayerSide<Tensor>) {
      const s = structure(source, kind);
      const t = structure(target, kind);
      const shape = (x: Structure<Tensor>) => `${x.layers.length} layer(s) × ${x.layers[0]!.length} direction(s), ${x.layers[0]![0]!.input}→${x.hidden}`;
      if (shape(s) !== shape(t) || s.layers.some((l, k) => l.length !== t.layers[k]!.length || l.some((d, j) => d.backward !== t.layers[k]![j]!.backward))) {
        throw new Disagreement(`source is ${shape(s)}, the converted layer ${shape(t)}`);
      }
      activations(source);
      activations(target);
      return { kind, batch: 2, steps: 3, input: s.layers[0]![0]!.input, hidden: s.hidden, layers: s.layers.length, directions: s.layers[0]!.length };
    },
    input(plan, random) {
      const x = new Float64Array(plan.batch * plan.steps * plan.input);
      for (let i = 0; i < x.length; i++) x[i] = random() * 2 - 1;
      return x;
    },
    forward(side, plan, input) {
      checkAliases(side);
      const s = structure(side, kind);
      const functions = activations(side);
      const order = ORDER[side.framework][kind];
      const H = plan.hidden;
      const width = plan.directions * H;
      const y = new Float64Array(plan.batch * plan.steps * width);
      for (let n = 0; n < plan.batch; n++) {
        let xs = Array.from({ length: plan.steps }, (_, t) => input.subarray((n * plan.steps + t) * plan.input, (n * plan.steps + t + 1) * plan.input));
        for (const layer of s.layers) {
          const runs = layer.map((d) => runDirection(d, kind, order, H, s.resetAfter, functions, xs));
          const outs = runs.map((r) => r.out);
          if (plan.finalCells) plan.finalCells[n] = runs.map((r) => r.cell);
          // Forward then backward features, as PyTorch, Keras Bidirectional(concat) and ONNX (Y [T, dirs, N, H]) give them.
          xs = xs.map((_, t) => {
            const v = new Float64Array(width);
            outs.forEach((o, k) => v.set(o[t]!, k * H));
            return v;
          });
        }
        xs.forEach((v, t) => y.set(v, (n * plan.steps + t) * width));
      }
      return y;
    },
    notes: () => [],
  };
}
