import type { BlockDecoder } from "./half.js";
import { decodeIQ4_NL, decodeMXFP4, decodeQ4_0, decodeQ4_1, decodeQ5_0, decodeQ5_1, decodeQ8_0, decodeQ8_1, decodeTQ1_0, decodeTQ2_0 } from "./basic-blocks.js";
import { decodeIQ4_XS, decodeQ2_K, decodeQ3_K, decodeQ4_K, decodeQ5_K, decodeQ6_K, decodeQ8_K } from "./k-blocks.js";
import { decodeIQ1_M, decodeIQ1_S, decodeIQ2_S, decodeIQ2_XS, decodeIQ2_XXS, decodeIQ3_S, decodeIQ3_XXS } from "./iq-blocks.js";

/** The decoder of every block type, by its ggml name. */
export const BLOCK_DECODERS: Readonly<Record<string, BlockDecoder>> = {
  Q4_0: decodeQ4_0,
  Q4_1: decodeQ4_1,
  Q5_0: decodeQ5_0,
  Q5_1: decodeQ5_1,
  Q8_0: decodeQ8_0,
  Q8_1: decodeQ8_1,
  Q2_K: decodeQ2_K,
  Q3_K: decodeQ3_K,
  Q4_K: decodeQ4_K,
  Q5_K: decodeQ5_K,
  Q6_K: decodeQ6_K,
  Q8_K: decodeQ8_K,
  IQ2_XXS: decodeIQ2_XXS,
  IQ2_XS: decodeIQ2_XS,
  IQ2_S: decodeIQ2_S,
  IQ3_XXS: decodeIQ3_XXS,
  IQ3_S: decodeIQ3_S,
  IQ1_S: decodeIQ1_S,
  IQ1_M: decodeIQ1_M,
  IQ4_NL: decodeIQ4_NL,
  IQ4_XS: decodeIQ4_XS,
  TQ1_0: decodeTQ1_0,
  TQ2_0: decodeTQ2_0,
  MXFP4: decodeMXFP4,
};

export type { BlockDecoder } from "./half.js";
