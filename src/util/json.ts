import { WeightbridgeError, type ErrorLocation } from "../errors.js";

/** Deeper JSON than any model config: Keras configs nest a few dozen levels. */
const MAX_DEPTH = 1000;

/**
 * JSON.parse for JSON read from a model file, refusing nesting deeper than `maxDepth` first
 * (one linear scan of brackets outside strings): 200k nested arrays overflow the stack in
 * JSON.parse or in any recursive walk of the result.
 */
export function parseModelJson(text: string, what: string, location: ErrorLocation = {}, maxDepth = MAX_DEPTH): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new WeightbridgeError("corrupt", `${what} nests deeper than ${maxDepth} levels`, location);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new WeightbridgeError("corrupt", `${what} is not valid JSON: ${(e as Error).message}`, location);
  }
}
