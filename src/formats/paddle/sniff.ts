import type { ByteSource } from "../../io/source.js";
import { u32, u64 } from "../../util/bytes.js";
import { PADDLE_DTYPE_TO_IR } from "./dtypes.js";
import { looksLikePirJson } from "./pir.js";
import { decodeTensorDesc, int64ToNumber } from "./program.js";
import { byteLengthOf } from "../../tensor/dtype.js";
import { readVarint } from "../../protobuf/wire.js";

// Content tests for the files of an inference model. Conservative on purpose: a random file must
// not pass for a ProgramDesc or a tensor stream.

/** A varint at `at`, or undefined when the bytes do not hold a complete one. */
function varintAt(bytes: Uint8Array, at: number): [number, number] | undefined {
  try {
    return readVarint(bytes, at);
  } catch {
    return undefined;
  }
}

const PROGRAM_TOP_TAGS = new Set([0x0a, 0x22, 0x2a]); // blocks (1), version (4), op_version_map (5)
const MAX_TOP_FIELDS = 100_000;

/**
 * A ProgramDesc: top-level fields are only blocks / version / op_version_map, each
 * length-delimited, tiling the file exactly; the first block starts with idx = 0 and a parent_idx.
 */
export async function looksLikeProgramDesc(source: ByteSource, head: Uint8Array): Promise<boolean> {
  if (head.length < 6 || head[0] !== 0x0a) return false;
  const first = varintAt(head, 1);
  if (!first) return false;
  const body = first[1];
  if (head[body] !== 0x08 || head[body + 1] !== 0x00 || head[body + 2] !== 0x10) return false;
  let at = 0;
  for (let fields = 0; at < source.size; fields++) {
    if (fields >= MAX_TOP_FIELDS) return false;
    const probe = await source.read(at, Math.min(11, source.size - at));
    if (!PROGRAM_TOP_TAGS.has(probe[0]!)) return false;
    const length = varintAt(probe, 1);
    if (!length) return false;
    at += length[1] + length[0];
  }
  return at === source.size;
}

/** The first record of a tensor stream decodes and fits the file (16 zero bytes, versions 0, a TensorDesc). */
export function looksLikeTensorStream(head: Uint8Array, size: number): boolean {
  if (head.length < 22 || u32(head, 0) !== 0 || u64(head, 4) !== 0 || u32(head, 12) !== 0) return false;
  const descSize = u32(head, 16);
  if (descSize < 2 || descSize > 256 || 20 + descSize > head.length || head[20] !== 0x08) return false;
  try {
    const desc = decodeTensorDesc(head.subarray(20, 20 + descSize), "", 20);
    const dtype = PADDLE_DTYPE_TO_IR[desc.data_type ?? -1];
    if (!dtype) return false;
    const shape = desc.dims.map(int64ToNumber);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return false;
    return 20 + descSize + byteLengthOf(dtype, shape) <= size;
  } catch {
    return false;
  }
}

export type InferenceFileKind = "program" | "pir" | "params";

export async function inferenceFileKind(source: ByteSource, head: Uint8Array): Promise<InferenceFileKind | undefined> {
  if (looksLikeTensorStream(head, source.size)) return "params";
  if (looksLikePirJson(head)) return "pir";
  if (await looksLikeProgramDesc(source, head)) return "program";
  return undefined;
}
