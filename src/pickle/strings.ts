/**
 * Text encodings pickles use: UTF-8 with lone surrogates allowed (CPython's "surrogatepass"),
 * latin-1 (protocol-2 bytes, py2 str), raw-unicode-escape (protocol-0 UNICODE) and py2 string
 * literals (protocol-0 STRING). Decoders return undefined on malformed input; callers report where.
 */

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** UTF-8 → string, accepting encoded surrogates (ED A0..BF xx) like Python's surrogatepass. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return decodeUtf8Slow(bytes);
  }
}

function decodeUtf8Slow(b: Uint8Array): string | undefined {
  const units: number[] = [];
  let out = "";
  let i = 0;
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  while (i < b.length) {
    const c = b[i]!;
    let cp: number;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if (c >= 0xc2 && c < 0xe0 && cont(1)) {
      cp = ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f);
      i += 2;
    } else if (c >= 0xe0 && c < 0xf0 && cont(1) && cont(2)) {
      cp = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
      if (cp < 0x800) return undefined;
      i += 3;
    } else if (c >= 0xf0 && c < 0xf5 && cont(1) && cont(2) && cont(3)) {
      cp = ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) return undefined;
      i += 4;
    } else {
      return undefined;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    if (units.length >= 8192) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** string → UTF-8, writing lone surrogates as 3-byte sequences (surrogatepass) instead of U+FFFD. */
export function encodeUtf8(s: string): Uint8Array {
  if (!LONE_SURROGATE.test(s)) return utf8Encoder.encode(s);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** bytes → string with one code point per byte. */
export function latin1ToString(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** string of code points ≤ 255 → bytes; undefined if any code point is larger. */
export function stringToLatin1(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return undefined;
    out[i] = c;
  }
  return out;
}

function hexValue(b: Uint8Array, start: number, count: number): number | undefined {
  if (start + count > b.length) return undefined;
  let v = 0;
  for (let k = 0; k < count; k++) {
    const d = parseInt(String.fromCharCode(b[start + k]!), 16);
    if (Number.isNaN(d)) return undefined;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Python's raw_unicode_escape decoding (protocol-0 UNICODE): bytes are latin-1, except that
 * `\uXXXX` / `\UXXXXXXXX` after an odd run of backslashes is a code point.
 */
export function decodeRawUnicodeEscape(b: Uint8Array): string | undefined {
  let out = "";
  let i = 0;
  while (i < b.length) {
    if (b[i] !== 0x5c) {
      out += String.fromCharCode(b[i]!);
      i++;
      continue;
    }
    let run = 0;
    while (i + run < b.length && b[i + run] === 0x5c) run++;
    const next = b[i + run];
    if (run % 2 === 0 || (next !== 0x75 && next !== 0x55)) {
      out += "\\".repeat(run);
      i += run;
      continue;
    }
    out += "\\".repeat(run - 1);
    const digits = next === 0x75 ? 4 : 8;
    const cp = hexValue(b, i + run + 1, digits);
    if (cp === undefined || cp > 0x10ffff) return undefined;
    out += String.fromCodePoint(cp);
    i += run + 1 + digits;
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  "\\": 0x5c,
  "'": 0x27,
  '"': 0x22,
  n: 0x0a,
  t: 0x09,
  r: 0x0d,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
};

/**
 * A py2 string literal as protocol-0 STRING writes it (`'abc'` or `"abc"`, repr escapes) → raw bytes.
 */
export function decodePyStringLiteral(b: Uint8Array): Uint8Array | undefined {
  if (b.length < 2) return undefined;
  const q = b[0];
  if ((q !== 0x27 && q !== 0x22) || b[b.length - 1] !== q) return undefined;
  const out: number[] = [];
  const end = b.length - 1;
  let i = 1;
  while (i < end) {
    const c = b[i]!;
    if (c !== 0x5c) {
      out.push(c);
      i++;
      continue;
    }
    if (i + 1 >= end) return undefined;
    const e = String.fromCharCode(b[i + 1]!);
    if (e in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[e]!);
      i += 2;
    } else if (e === "\n") {
      i += 2;
    } else if (e === "x") {
      const v = hexValue(b, i + 2, 2);
      if (v === undefined || i + 4 > end) return undefined;
      out.push(v);
      i += 4;
    } else if (e >= "0" && e <= "7") {
      let v = 0;
      let k = 1;
      while (k <= 3 && i + k < end && b[i + k]! >= 0x30 && b[i + k]! <= 0x37) {
        v = v * 8 + (b[i + k]! - 0x30);
        k++;
      }
      out.push(v & 0xff);
      i += k;
    } else {
      out.push(0x5c);
      i += 1;
    }
  }
  return Uint8Array.from(out);
}

/**
 * Decodes UTF-8 text whose characters are all below U+0100 into those characters as bytes, piece
 * by piece (a character split between pieces is carried over). Protocol 2 pickles store bytes so.
 */
export class Latin1FromUtf8 {
  private lead = 0;

  /** The bytes of `text`; undefined at a character outside latin-1 or invalid UTF-8. */
  push(text: Uint8Array): Uint8Array | undefined {
    const out = new Uint8Array(text.length + 1);
    let n = 0;
    let i = 0;
    if (this.lead !== 0 && text.length > 0) {
      const b = text[0]!;
      if ((b & 0xc0) !== 0x80) return undefined;
      out[n++] = ((this.lead & 0x03) << 6) | (b & 0x3f);
      this.lead = 0;
      i = 1;
    }
    for (; i < text.length; i++) {
      const b = text[i]!;
      if (b < 0x80) out[n++] = b;
      else if (b === 0xc2 || b === 0xc3) {
        if (i + 1 === text.length) {
          this.lead = b;
          break;
        }
        const c = text[++i]!;
        if ((c & 0xc0) !== 0x80) return undefined;
        out[n++] = ((b & 0x03) << 6) | (c & 0x3f);
      } else return undefined;
    }
    return out.subarray(0, n);
  }

  /** True when no character is left half-read. */
  get complete(): boolean {
    return this.lead === 0;
  }
}
