import { WeightbridgeError } from "../../errors.js";
import type { SliceProto } from "./protos.js";
import { int64 } from "./protos.js";

// A partitioned variable's bundle entry lists its slices; each slice's bytes sit under a key
// built by TensorFlow's checkpoint::EncodeTensorNameSlice with OrderedCode:
// NumIncreasing(0) String(name) NumIncreasing(rank) then per dimension
// SignedNumIncreasing(start) SignedNumIncreasing(length) (length -1 = the whole dimension).

function numIncreasing(value: number, out: number[]): void {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  out.push(bytes.length, ...bytes);
}

function orderedString(text: Uint8Array, out: number[]): void {
  for (const b of text) {
    if (b === 0x00) out.push(0x00, 0xff);
    else if (b === 0xff) out.push(0xff, 0x00);
    else out.push(b);
  }
  out.push(0x00, 0x01);
}

// Header bits for an encoding of `length` bytes (first two bytes).
const HEADER_BITS: Array<[number, number]> = [
  [0, 0],
  [0x80, 0],
  [0xc0, 0],
  [0xe0, 0],
  [0xf0, 0],
  [0xf8, 0],
  [0xfc, 0],
  [0xfe, 0],
  [0xff, 0],
  [0xff, 0x80],
  [0xff, 0xc0],
];

function signedNumIncreasing(value: number, out: number[]): void {
  const big = BigInt(value);
  const magnitude = big < 0n ? ~big : big;
  if (magnitude < 64n) {
    out.push((0x80 ^ Number(BigInt.asUintN(8, big))) & 0xff);
    return;
  }
  const bits = magnitude.toString(2).length + 1; // plus the sign bit
  const length = Math.min(10, Math.ceil(bits / 7));
  const bytes: number[] = [];
  const twos = BigInt.asUintN(80, big);
  for (let i = length - 1; i >= 0; i--) bytes.push(Number((twos >> BigInt(8 * i)) & 0xffn));
  bytes[0] = bytes[0]! ^ HEADER_BITS[length]![0];
  bytes[1] = bytes[1]! ^ HEADER_BITS[length]![1];
  out.push(...bytes);
}

export interface Extent {
  start: number;
  /** -1 = the whole dimension. */
  length: number;
}

export function extentsOf(slice: SliceProto, rank: number, tensor: string): Extent[] {
  if (slice.extent.length !== rank) throw new WeightbridgeError("corrupt", `slice has ${slice.extent.length} extents for a rank-${rank} tensor`, { tensor });
  // `length` sits in a oneof: unset (the whole dimension) is not the same as 0.
  return slice.extent.map((e) => ({ start: int64(e.start), length: Object.prototype.hasOwnProperty.call(e, "length") ? int64(e.length) : -1 }));
}

/** The table key under which TensorFlow stores one slice of `name`. */
export function sliceKey(name: Uint8Array, extents: Extent[]): Uint8Array {
  const out: number[] = [];
  numIncreasing(0, out);
  orderedString(name, out);
  numIncreasing(extents.length, out);
  for (const e of extents) {
    signedNumIncreasing(e.start, out);
    signedNumIncreasing(e.length, out);
  }
  return Uint8Array.from(out);
}

/** A slice's box in the full tensor: start and size per dimension (-1 lengths resolved). */
export interface Box {
  starts: number[];
  sizes: number[];
}

export function boxOf(extents: Extent[], shape: number[], tensor: string): Box {
  const sizes = extents.map((e, d) => (e.length < 0 ? shape[d]! : e.length));
  const starts = extents.map((e) => (e.length < 0 ? 0 : e.start));
  for (let d = 0; d < shape.length; d++) {
    if (!(starts[d]! >= 0 && sizes[d]! >= 0 && starts[d]! + sizes[d]! <= shape[d]!)) {
      throw new WeightbridgeError("corrupt", `slice extent ${starts[d]}+${sizes[d]} outside dimension ${d} of size ${shape[d]}`, { tensor });
    }
  }
  return { starts, sizes };
}

const volume = (box: Box) => box.sizes.reduce((a, b) => a * b, 1);

/**
 * Checks that the slices tile the tensor exactly, as TensorFlow's loader does ("does not have
 * sufficient slices"): no overlap and, since every box is inside the shape, volumes summing to
 * the element count means no gap. A sweep along dimension 0 compares only boxes that share a
 * row range, so slices partitioned along one axis cost k log k.
 */
export function checkCoverage(shape: number[], boxes: Box[], tensor: string): void {
  const numel = shape.reduce((a, b) => a * b, 1);
  let covered = 0;
  for (const box of boxes) covered += volume(box);
  const nonEmpty = boxes.filter((b) => volume(b) > 0);
  if (shape.length > 0) {
    const byStart = [...nonEmpty].sort((a, b) => a.starts[0]! - b.starts[0]!);
    let active: Box[] = [];
    for (const box of byStart) {
      active = active.filter((a) => a.starts[0]! + a.sizes[0]! > box.starts[0]!);
      const other = active.find((a) => a.starts.every((s, d) => s < box.starts[d]! + box.sizes[d]! && box.starts[d]! < s + a.sizes[d]!));
      if (other) {
        throw new WeightbridgeError("corrupt", `partitioned tensor: slices at [${other.starts.join(", ")}] and [${box.starts.join(", ")}] overlap`, { tensor });
      }
      active.push(box);
    }
  } else if (nonEmpty.length > 1) throw new WeightbridgeError("corrupt", "partitioned scalar with several slices", { tensor });
  if (covered !== numel) {
    throw new WeightbridgeError(
      "corrupt",
      `partitioned tensor: its slices cover ${covered} of its ${numel} elements (TensorFlow refuses it: not sufficient slices)`,
      { tensor },
    );
  }
}

/** Copies a slice's contiguous bytes into the full tensor's buffer. */
export function placeSlice(full: Uint8Array, shape: number[], itemSize: number, extents: Extent[], slice: Uint8Array, tensor: string): void {
  const { starts, sizes } = boxOf(extents, shape, tensor);
  const expected = sizes.reduce((a, b) => a * b, 1) * itemSize;
  if (slice.byteLength !== expected) throw new WeightbridgeError("corrupt", `slice holds ${slice.byteLength} bytes, its extents need ${expected}`, { tensor });
  const rank = shape.length;
  if (rank === 0) {
    full.set(slice);
    return;
  }
  const fullStrides = new Array<number>(rank);
  let acc = itemSize;
  for (let d = rank - 1; d >= 0; d--) {
    fullStrides[d] = acc;
    acc *= shape[d]!;
  }
  const rowBytes = sizes[rank - 1]! * itemSize;
  const rows = expected / Math.max(rowBytes, 1);
  const index = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows && rowBytes > 0; r++) {
    let at = starts[rank - 1]! * itemSize;
    for (let d = 0; d < rank - 1; d++) at += (starts[d]! + index[d]!) * fullStrides[d]!;
    full.set(slice.subarray(r * rowBytes, (r + 1) * rowBytes), at);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < sizes[d]!) break;
      index[d] = 0;
    }
  }
}
