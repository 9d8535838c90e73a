/**
 * Where pickles hide in files, for `scan`: zip archives (any entry that is a pickle, numpy .npy
 * members of .npz), numpy .npy object arrays (their pickled payload), gzip-wrapped pickles, bare
 * pickle files of any protocol (0 and 1 have no PROTO opcode) and several pickles back to back.
 * Containers weightbridge cannot open (7z, encrypted zip entries, other compressors) are named as
 * such, so a file it could not look into is never reported as holding no pickles.
 */
import { gunzipSync } from "fflate";
import type { ByteSource } from "../io/source.js";
import { looksLikeZip, openZip, type ZipArchive, type ZipEntry } from "../io/zip.js";
import { bytesInput, pickleInputOf, type PickleInput } from "./input.js";
import { OP } from "./opcodes.js";

/** One pickle, or several back to back, inside a file. */
export interface PickleStream {
  /** Label: zip entry (`archive/data.pkl`), `pickle`, `a.npy (object array)`. */
  name: string;
  input: PickleInput;
  start: number;
  /** Names of exactly this many pickles that follow each other from `start` (legacy torch: five). */
  sequence?: string[];
  /** Keep reading further pickles after the first while the bytes go on (.pdparams, joblib, plain files). */
  backToBack?: boolean;
}

/** A part of the file weightbridge cannot look into. */
export interface UnopenedPart {
  name: string;
  offset: number;
  reason: string;
  /** The part is damaged (truncated, undecodable) rather than of a kind weightbridge does not open. */
  damaged?: boolean;
}

export interface PickleSources {
  container: "zip" | "legacy-torch" | "pickle" | "npy" | "gzip" | "none" | "unsupported";
  streams: PickleStream[];
  unopened: UnopenedPart[];
}

const OPCODES = new Set<number>(Object.values(OP));
const SEVEN_Z = [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c];
const NPY = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** HDF5's signature: its first byte is a pickle opcode (NEWFALSE), but no pickle can go on as it does. */
const HDF5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const OTHER_COMPRESSORS: Array<[string, number[]]> = [
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["lz4", [0x04, 0x22, 0x4d, 0x18]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["zlib", [0x78, 0x01]],
  ["zlib", [0x78, 0x5e]],
  ["zlib", [0x78, 0x9c]],
  ["zlib", [0x78, 0xda]],
];
/** Zip entries that hold pickles: torch/TorchScript records, debug pickles, Paddle pickles ... */
const PICKLE_NAME = /(\.pkl|\.debug_pkl|\.pickle|\.pdparams|\.pdopt|\.pdiparams\.info|\.joblib)$/i;
/** Folders of raw tensor bytes, never pickles. */
const DATA_FOLDER = /(^|\/)(data|constants|tensors|\.data)\//;
const PEEK_LIMIT = 64 << 20;

const startsWith = (head: Uint8Array, magic: number[]) => magic.every((b, i) => head[i] === b);

/** True when bytes start like a pickle: PROTO 0–5, or (protocols 0 and 1) any opcode. */
export function looksLikePickle(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  if (head[0] === OP.PROTO) return head.length > 1 && head[1]! <= 5;
  return OPCODES.has(head[0]!);
}

/** Every pickle a file holds that no format descriptor claimed, by its container. */
export async function pickleSources(source: ByteSource): Promise<PickleSources> {
  const head = await source.read(0, Math.min(source.size, 64));
  if (looksLikeZip(head)) return zipPickles(source);
  if (startsWith(head, SEVEN_Z)) {
    return {
      container: "unsupported",
      streams: [],
      unopened: [{ name: source.name, offset: 0, reason: "a 7z archive: weightbridge does not open 7z, so its contents cannot be shown safe" }],
    };
  }
  const other = OTHER_COMPRESSORS.find(([, magic]) => startsWith(head, magic));
  if (other) {
    return {
      container: "unsupported",
      streams: [],
      unopened: [{ name: source.name, offset: 0, reason: `${other[0]}-compressed data (a compressed joblib or pickle?) that weightbridge cannot decompress` }],
    };
  }
  if (startsWith(head, NPY)) return npyPickles(await source.read(0, source.size), source.name, "npy");
  if (head[0] === 0x1f && head[1] === 0x8b) return gzipPickles(source);
  if (startsWith(head, HDF5)) return { container: "none", streams: [], unopened: [] };
  if (looksLikePickle(head))
    return { container: "pickle", streams: [{ name: "pickle", input: await pickleInputOf(source), start: 0, backToBack: true }], unopened: [] };
  return { container: "none", streams: [], unopened: [] };
}

/** Every entry of a zip that holds a pickle (or is a .npy with a pickled payload). */
export async function zipPickles(source: ByteSource): Promise<PickleSources> {
  let zip: ZipArchive;
  try {
    zip = await openZip(source);
  } catch (e) {
    return {
      container: "unsupported",
      streams: [],
      unopened: [{ name: source.name, offset: 0, reason: `a damaged zip archive (${(e as Error).message})`, damaged: true }],
    };
  }
  const out: PickleSources = { container: "zip", streams: [], unopened: [] };
  for (const entry of zip.entries) {
    const encrypted = (entry.flags & 0x41) !== 0;
    if (encrypted) out.unopened.push({ name: entry.name, offset: entry.localHeaderOffset, reason: "an encrypted zip entry" });
    if (entry.name.endsWith("/") || entry.size === 0) continue;
    let bytes: Uint8Array | undefined;
    try {
      // Even an entry marked encrypted is tried as it stands: some zip readers ignore the flag.
      if (PICKLE_NAME.test(entry.name) || /\.npy$/i.test(entry.name) || (!DATA_FOLDER.test(entry.name) && entry.size <= PEEK_LIMIT))
        bytes = await zip.read(entry);
    } catch (e) {
      if (!encrypted)
        out.unopened.push({
          name: entry.name,
          offset: entry.localHeaderOffset,
          reason: `a zip entry that cannot be read (${(e as Error).message})`,
          damaged: true,
        });
      continue;
    }
    if (!bytes) continue;
    if (startsWith(bytes, NPY)) {
      const npy = npyPickles(bytes, entry.name, "zip");
      out.streams.push(...npy.streams);
      out.unopened.push(...npy.unopened);
    } else if (isPickleEntry(entry, bytes)) {
      out.streams.push({ name: entry.name, input: bytesInput(bytes), start: 0, backToBack: true });
    }
  }
  return out;
}

function isPickleEntry(entry: ZipEntry, bytes: Uint8Array): boolean {
  if (PICKLE_NAME.test(entry.name)) return looksLikePickle(bytes);
  return bytes[0] === OP.PROTO && bytes[1]! >= 2 && bytes[1]! <= 5 && bytes[bytes.length - 1] === OP.STOP;
}

/** A .npy file: its header says whether the data is a pickle (dtype with objects) or raw elements. */
function npyPickles(bytes: Uint8Array, name: string, container: "npy" | "zip"): PickleSources {
  const out: PickleSources = { container, streams: [], unopened: [] };
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if ((major !== 1 && major !== 2 && major !== 3) || bytes.length < 8 + lengthBytes) {
    out.unopened.push({ name, offset: 6, reason: `a .npy file of unknown version ${major}` });
    return out;
  }
  const headerLength = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) {
    out.unopened.push({ name, offset: 8, reason: "a .npy header longer than the file", damaged: true });
    return out;
  }
  const header = new TextDecoder("latin1").decode(bytes.subarray(8 + lengthBytes, dataStart));
  // 'descr': 'O' / '|O', or a structured dtype with an 'O' field: numpy pickles the array.
  const descr = /['"]descr['"]\s*:\s*(.*?)\s*,\s*['"]fortran_order/s.exec(header)?.[1] ?? header;
  if (/['"][|<>=]?O\d*['"]/.test(descr)) {
    out.streams.push({ name: container === "zip" ? `${name} (object array)` : "object array", input: bytesInput(bytes), start: dataStart, backToBack: false });
  }
  return out;
}

/** Decompressed gzip beyond this is not inflated (a gzip bomb must not fill memory). */
const MAX_GUNZIPPED = 1 << 30;

async function gzipPickles(source: ByteSource): Promise<PickleSources> {
  // ISIZE, the last four bytes, is the decompressed size modulo 2^32.
  const tail = await source.read(Math.max(0, source.size - 4), Math.min(4, source.size));
  const declared = tail.length === 4 ? new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true) : 0;
  if (source.size > MAX_GUNZIPPED || declared > MAX_GUNZIPPED) {
    return { container: "unsupported", streams: [], unopened: [{ name: source.name, offset: 0, reason: "gzip data too large to decompress in memory" }] };
  }
  let bytes: Uint8Array;
  try {
    bytes = gunzipSync(await source.read(0, source.size), { out: new Uint8Array(declared) });
  } catch (e) {
    return {
      container: "unsupported",
      streams: [],
      unopened: [{ name: source.name, offset: 0, reason: `gzip data that cannot be decompressed (${(e as Error).message})`, damaged: true }],
    };
  }
  if (startsWith(bytes, NPY)) return { ...npyPickles(bytes, "gunzipped", "npy"), container: "gzip" };
  if (!looksLikePickle(bytes)) return { container: "gzip", streams: [], unopened: [] };
  return { container: "gzip", streams: [{ name: "gunzipped pickle", input: bytesInput(bytes), start: 0, backToBack: true }], unopened: [] };
}
