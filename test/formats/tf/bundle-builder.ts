import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32c, maskCrc32c } from "../../../src/util/crc32c.js";
import { encodeProto } from "../../../src/formats/tensorflow/protos.js";
import { writeTable, compareKeys } from "../../../src/formats/tensorflow/table-write.js";

/** One entry of a hand-built tensor bundle: its table key, its BundleEntryProto fields, its bytes. */
export interface Raw {
  key: Uint8Array;
  entry: Record<string, unknown>;
  bytes?: Uint8Array;
  /** The entry's checksum when it is not the CRC-32C of the bytes (string tensors). */
  crc?: number;
}

/**
 * Writes `m.index` + `m.data-00000-of-00001` as TensorFlow lays them out (tensor_bundle.proto,
 * entries sorted by key, each entry's bytes appended to the data file); returns the index path.
 */
export function bundle(entries: Raw[], header: Record<string, unknown> = { num_shards: 1, version: { producer: 1 } }): string {
  const dir = mkdtempSync(join(tmpdir(), "wb-tf-synth-"));
  const data: Uint8Array[] = [];
  let offset = 0;
  const table = [{ key: new Uint8Array(0), value: encodeProto("BundleHeaderProto", header) }];
  for (const e of [...entries].sort((a, b) => compareKeys(a.key, b.key))) {
    const entry = { ...e.entry };
    if (e.bytes) {
      Object.assign(entry, { offset, size: e.bytes.length, crc32c: maskCrc32c(e.crc ?? crc32c(e.bytes)) });
      data.push(e.bytes);
      offset += e.bytes.length;
    }
    table.push({ key: e.key, value: encodeProto("BundleEntryProto", entry) });
  }
  writeFileSync(join(dir, "m.index"), writeTable(table));
  writeFileSync(join(dir, "m.data-00000-of-00001"), Buffer.concat(data));
  return join(dir, "m.index");
}

export const floats = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
export const shape = (...dims: number[]) => ({ dim: dims.map((size) => ({ size })) });
