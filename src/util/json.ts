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

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The members of the JSON object `text`, one at a time in file order, each value parsed alone.
 * A safetensors header of 10^6 tensors parsed whole is one object of 10^6 keys (~0.3 KiB each,
 * seconds of hashing) that lives until the last entry is read; this keeps one entry at a time.
 * Throws SyntaxError, as JSON.parse does, on anything that is not one JSON object.
 */
export function* jsonObjectMembers(text: string): Generator<[string, unknown]> {
  try {
    let i = 0;
    const fail = (what: string): never => {
      throw new SyntaxError(`${what} at position ${i}`);
    };
    const skipSpace = () => {
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    };
    /** The end (after the closing quote) of the string starting at `from`. */
    const stringEnd = (from: number): number => {
      for (let j = from + 1; j < text.length; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x22) return j + 1;
        if (c === 0x5c) j++;
      }
      return fail("unterminated string");
    };
    skipSpace();
    if (text.charCodeAt(i) !== 0x7b) fail("expected '{'");
    i++;
    skipSpace();
    if (text.charCodeAt(i) === 0x7d) {
      i++;
    } else {
      for (;;) {
        skipSpace();
        if (text.charCodeAt(i) !== 0x22) fail("expected a string key");
        const keyStart = i;
        i = stringEnd(i);
        // Parsed, not sliced: a slice of 13+ characters is a view that keeps the whole text alive
        // (a 10^6-tensor header: 60 MB held by the names for the whole conversion).
        const key = JSON.parse(text.slice(keyStart, i)) as string;
        skipSpace();
        if (text.charCodeAt(i) !== 0x3a) fail("expected ':'");
        i++;
        skipSpace();
        // The value's text ends at the ',' or '}' that closes this member (brackets outside strings counted).
        const valueStart = i;
        let depth = 0;
        for (; i < text.length; i++) {
          const c = text.charCodeAt(i);
          if (c === 0x22) i = stringEnd(i) - 1;
          else if (c === 0x7b || c === 0x5b) depth++;
          else if (c === 0x7d || c === 0x5d) {
            if (depth === 0) break;
            depth--;
          } else if (c === 0x2c && depth === 0) break;
        }
        yield [key, JSON.parse(text.slice(valueStart, i))];
        skipSpace();
        const c = text.charCodeAt(i++);
        if (c === 0x7d) break;
        if (c !== 0x2c) fail("expected ',' or '}'");
      }
    }
    skipSpace();
    if (i < text.length) fail("unexpected text after the object");
  } finally {
    // Optimized code for this generator was seen to keep `text` alive after it returned (a
    // 10^6-tensor header: 77 MB for the whole conversion); a cleared variable is not kept.
    text = "";
  }
}
