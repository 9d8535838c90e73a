import { describe, expect, it } from "vitest";
import { NumpyArray, NumpyDtype } from "../../../src/pickle/index.js";
import { memorySource } from "../../../src/io/source.js";
import { arrayTensor } from "../../../src/formats/paddle/numpy-arrays.js";

function array(typestr: string, byteorder: string, shape: number[], fortran: boolean, data: Uint8Array): NumpyArray {
  const a = new NumpyArray();
  a.dtype = new NumpyDtype(typestr);
  a.dtype.byteorder = byteorder;
  a.shape = shape;
  a.fortranOrder = fortran;
  a.data = data;
  a.built = true;
  return a;
}

function bigEndianFloat32(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, false));
  return out;
}

const source = memorySource(new Uint8Array(0), "test.pdparams");

describe("numpy arrays in a Paddle pickle: byte order and memory order", () => {
  it("a big-endian Fortran-order array reads as little-endian row-major, leaving the pickled bytes alone", async () => {
    // [[1, 2, 3], [4, 5, 6]] stored column by column.
    const stored = bigEndianFloat32([1, 4, 2, 5, 3, 6]);
    const copy = stored.slice();
    const t = arrayTensor(array("f4", ">", [2, 3], true, stored), "w", source);
    expect([t.dtype, t.shape]).toEqual(["float32", [2, 3]]);
    const bytes = await t.data.read();
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, 6)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await t.data.read()).toEqualBytes(bytes); // reading twice gives the same bytes
    expect(stored).toEqualBytes(copy);
  });

  it("a little-endian Fortran-order 3-D array is gathered into row-major order", async () => {
    const shape = [2, 3, 4];
    const c = Array.from({ length: 24 }, (_, i) => i);
    // Element (i, j, k) sits at i + 2j + 6k in column-major storage.
    const fortran = new Int32Array(24);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) fortran[i + 2 * j + 6 * k] = c[i * 12 + j * 4 + k]!;
    const t = arrayTensor(array("i4", "<", shape, true, new Uint8Array(fortran.buffer)), "w", source);
    const bytes = await t.data.read();
    expect([...new Int32Array(bytes.buffer, bytes.byteOffset, 24)]).toEqual(c);
  });

  it("big-endian complex numbers swap each component, not the pair", async () => {
    const stored = bigEndianFloat32([1.5, -2, 3, 4.25]);
    const t = arrayTensor(array("c8", ">", [2], false, stored), "z", source);
    const bytes = await t.data.read();
    expect(t.dtype).toBe("complex64");
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, 4)]).toEqual([1.5, -2, 3, 4.25]);
  });
});
