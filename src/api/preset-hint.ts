import { presetNames } from "../mapping/index.js";

/** Preset names speak of frameworks by these short names (torch2keras, keras2paddle ...). */
const FRAMEWORK: Record<string, string> = { pytorch: "torch", torchscript: "torch", "keras-h5": "keras", keras: "keras", paddle: "paddle", "paddle-inference": "paddle", onnx: "onnx" };

export interface ForeignPair {
  /** Short framework names of the two formats (torch, keras, paddle, onnx). */
  from: string;
  to: string;
  /** The preset chain that maps between them, when there is one. */
  fit?: string;
}

/** Two formats of different frameworks, and the preset that carries weights between them. */
export function foreignPair(fromFormat: string | undefined, toFormat: string | undefined): ForeignPair | undefined {
  const from = fromFormat ? FRAMEWORK[fromFormat] : undefined;
  const to = toFormat ? FRAMEWORK[toFormat] : undefined;
  if (!from || !to || from === to) return undefined;
  const presets = presetNames();
  const direct = `${from}2${to}`;
  const fit = presets.includes(direct) ? direct : presets.includes(`${from}2torch`) && presets.includes(`torch2${to}`) ? `${from}2torch,torch2${to}` : undefined;
  return { from, to, ...(fit ? { fit } : {}) };
}
