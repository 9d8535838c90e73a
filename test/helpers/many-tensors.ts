import { closeSync, openSync, writeSync } from "node:fs";

/** A safetensors file of `n` float32[2] tensors (names like a mixture of experts'), written directly: no library involved. */
export function writeManyTensors(path: string, n: number): void {
  const header: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) header[`experts.${i >> 6}.w${i & 63}`] = { dtype: "F32", shape: [2], data_offsets: [8 * i, 8 * i + 8] };
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, "w");
  writeSync(fd, size);
  writeSync(fd, json);
  writeSync(fd, Buffer.alloc(8 * n));
  closeSync(fd);
}
