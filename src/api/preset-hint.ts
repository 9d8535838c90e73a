import { presetNames } from "../mapping/index.js";
import { knownFormat } from "../formats/index.js";

export interface ForeignPair {
  /** Short framework names of the two formats (torch, keras, paddle, onnx). */
  from: string;
  to: string;
  /** The preset chain that maps between them, when there is one. */
  fit?: string;
}

/** Two formats of different frameworks, and the preset that carries weights between them. */
export function foreignPair(fromFormat: string | undefined, toFormat: string | undefined): ForeignPair | undefined {
  const from = knownFormat(fromFormat)?.presetName;
  const to = knownFormat(toFormat)?.presetName;
  if (!from || !to || from === to) return undefined;
  const presets = presetNames();
  const direct = `${from}2${to}`;
  const fit = presets.includes(direct)
    ? direct
    : presets.includes(`${from}2torch`) && presets.includes(`torch2${to}`)
      ? `${from}2torch,torch2${to}`
      : undefined;
  return { from, to, ...(fit ? { fit } : {}) };
}
