// Writes the WebAssembly layout kernels (2-D strided transposes for 1/2/4/8-byte elements and the
// float32 ⇄ float16/bfloat16 casts, with 128-bit SIMD, and the GGUF block dequantizers of
// ./wasm-dequant.mjs) as WebAssembly text, assembles it with
// wabt's wat2wasm (Debian: apt-get install wabt) and commits the bytes as base64 in
// src/kernels/wasm/layout-kernels-bytes.ts, so installing and bundling need no toolchain.
// Run: node scripts/build-wasm-kernels.mjs   (then npm run build and the kernel tests);
// --check only reports whether the committed module is what this script makes (exit 1 if not).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEQUANT_FUNCS } from "./wasm-dequant.mjs";

/** Lane blocks per side in one step of the transpose, per element size (measured by bench/kernels.mjs). */
const GROUPS = { 1: 1, 2: 1, 4: 2, 8: 2 };

const SCALAR = {
  1: { load: "i32.load8_u", store: "i32.store8", type: "i32" },
  2: { load: "i32.load16_u", store: "i32.store16", type: "i32" },
  4: { load: "i32.load", store: "i32.store", type: "i32" },
  8: { load: "i64.load", store: "i64.store", type: "i64" },
};

/** The i8x16.shuffle byte indices that interleave lanes of `size` bytes from the low (or high) halves of a and b. */
function interleave(size, high) {
  const lanes = 16 / size;
  const bytes = [];
  for (let k = 0; k < lanes / 2; k++) {
    const lane = (high ? lanes / 2 : 0) + k;
    for (const base of [0, 16]) for (let b = 0; b < size; b++) bytes.push(base + lane * size + b);
  }
  return bytes.join(" ");
}

/**
 * An n×n lane block (n = 16/size) held in n vectors (locals named `inputs`) becomes its transpose
 * after log2(n) rounds of pairing vector k with vector k + n/2 and interleaving their low and high
 * halves. Returns the code and the locals holding the result (column k in the k-th).
 */
function blockTranspose(size, inputs, temp) {
  const n = 16 / size;
  const lines = [];
  let from = inputs;
  for (let round = 0, span = 1; span < n; round++, span *= 2) {
    const to = Array.from({ length: n }, (_, k) => `$${temp}${round % 2}_${k}`);
    for (let k = 0; k < n / 2; k++) {
      lines.push(`(local.set ${to[2 * k]} (i8x16.shuffle ${interleave(size, false)} (local.get ${from[k]}) (local.get ${from[k + n / 2]})))`);
      lines.push(`(local.set ${to[2 * k + 1]} (i8x16.shuffle ${interleave(size, true)} (local.get ${from[k]}) (local.get ${from[k + n / 2]})))`);
    }
    from = to;
  }
  return { lines, result: from };
}

/** Checks the interleave network on plain arrays, so a wrong shuffle fails here, not in a test. */
function checkNetwork(size) {
  const n = 16 / size;
  let v = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => r * n + c));
  for (let span = 1; span < n; span *= 2) {
    const w = [];
    for (let k = 0; k < n / 2; k++) {
      const a = v[k],
        b = v[k + n / 2];
      w[2 * k] = a.slice(0, n / 2).flatMap((x, i) => [x, b[i]]);
      w[2 * k + 1] = a.slice(n / 2).flatMap((x, i) => [x, b[n / 2 + i]]);
    }
    v = w;
  }
  v.forEach((col, c) =>
    col.forEach((x, r) => {
      if (x !== r * n + c) throw new Error(`network wrong for ${size}-byte lanes`);
    }),
  );
}

/**
 * dst[c·ds + r] = src[r·ss + c] for r < rows, c < cols (element indices; src and dst are byte
 * addresses). Tiles of tr×tc elements (multiples of the block size) keep both sides in cache;
 * blocks of n×n are transposed in registers, the ragged edges one element at a time.
 */
function transposeFunc(size, group) {
  checkNetwork(size);
  const n = 16 / size;
  // A step moves a block of g×g lane blocks: each source row gives g vectors, each destination row takes g.
  const block = n * group;
  const shift = Math.log2(size);
  const s = SCALAR[size];
  const locals = new Set();
  const loads = [];
  for (let k = 0; k < block; k++) {
    const at = k === 0 ? "(local.tee $a (local.get $p))" : "(local.tee $a (i32.add (local.get $a) (local.get $ssb)))";
    for (let h = 0; h < group; h++) {
      locals.add(`$in${k}_${h}`);
      loads.push(`(local.set $in${k}_${h} (v128.load offset=${h * 16} align=1 ${h === 0 ? at : "(local.get $a)"}))`);
    }
  }
  const lines = [];
  const stores = [];
  for (let cb = 0; cb < group; cb++) {
    for (let rb = 0; rb < group; rb++) {
      const inputs = Array.from({ length: n }, (_, i) => `$in${rb * n + i}_${cb}`);
      const net = blockTranspose(size, inputs, `t${rb}${cb}_`);
      net.result.forEach((name) => locals.add(name));
      net.lines.forEach((line) => {
        const m = line.match(/local.set (\$\S+)/);
        if (m) locals.add(m[1]);
      });
      lines.push(...net.lines);
      net.result.forEach((name, j) => stores.push({ column: cb * n + j, offset: rb * 16, name }));
    }
  }
  stores.sort((x, y) => x.column - y.column || x.offset - y.offset);
  const storeLines = stores.map(({ column, offset, name }, i) => {
    const first = i === 0 || stores[i - 1].column !== column;
    const at = !first ? "(local.get $a)" : column === 0 ? "(local.tee $a (local.get $q))" : "(local.tee $a (i32.add (local.get $a) (local.get $dsb)))";
    return `(v128.store offset=${offset} align=1 ${at} (local.get ${name}))`;
  });
  const vs = [...locals].map((name) => `(local ${name} v128)`).join(" ");
  const elem = (base, stride, major, minor) =>
    `(i32.add (local.get ${base}) (i32.shl (i32.add (i32.mul (local.get ${major}) (local.get ${stride})) (local.get ${minor})) (i32.const ${shift})))`;
  const scalarLoop = (name, r0, r1, c0, c1) => `
    (local.set $r ${r0})
    (block $${name}_r_done (loop $${name}_r
      (br_if $${name}_r_done (i32.ge_u (local.get $r) ${r1}))
      (local.set $c ${c0})
      (block $${name}_c_done (loop $${name}_c
        (br_if $${name}_c_done (i32.ge_u (local.get $c) ${c1}))
        (${s.store} ${elem("$dst", "$ds", "$c", "$r")} (${s.load} ${elem("$src", "$ss", "$r", "$c")}))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $${name}_c)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $${name}_r)))`;
  const min = (a, b) => `(select ${a} ${b} (i32.lt_u ${a} ${b}))`;
  return `
  (func (export "transpose${size * 8}") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
      (param $ss i32) (param $ds i32) (param $tr i32) (param $tc i32)
    (local $r i32) (local $c i32) (local $r0 i32) (local $c0 i32) (local $r1 i32) (local $c1 i32)
    (local $rn i32) (local $cn i32) (local $ssb i32) (local $dsb i32) (local $p i32) (local $q i32) (local $a i32)
    ${vs}
    (local.set $ssb (i32.shl (local.get $ss) (i32.const ${shift})))
    (local.set $dsb (i32.shl (local.get $ds) (i32.const ${shift})))
    (local.set $rn (i32.sub (local.get $rows) (i32.rem_u (local.get $rows) (i32.const ${block}))))
    (local.set $cn (i32.sub (local.get $cols) (i32.rem_u (local.get $cols) (i32.const ${block}))))
    (local.set $r0 (i32.const 0))
    (block $tiles_r_done (loop $tiles_r
      (br_if $tiles_r_done (i32.ge_u (local.get $r0) (local.get $rn)))
      (local.set $r1 ${min("(i32.add (local.get $r0) (local.get $tr))", "(local.get $rn)")})
      (local.set $c0 (i32.const 0))
      (block $tiles_c_done (loop $tiles_c
        (br_if $tiles_c_done (i32.ge_u (local.get $c0) (local.get $cn)))
        (local.set $c1 ${min("(i32.add (local.get $c0) (local.get $tc))", "(local.get $cn)")})
        (local.set $r (local.get $r0))
        (block $rows_done (loop $rows
          (br_if $rows_done (i32.ge_u (local.get $r) (local.get $r1)))
          (local.set $c (local.get $c0))
          (local.set $p ${elem("$src", "$ss", "$r", "$c")})
          (local.set $q ${elem("$dst", "$ds", "$c", "$r")})
          (block $blocks_done (loop $blocks
            (br_if $blocks_done (i32.ge_u (local.get $c) (local.get $c1)))
            ${loads.join("\n            ")}
            ${lines.join("\n            ")}
            ${storeLines.join("\n            ")}
            (local.set $p (i32.add (local.get $p) (i32.const ${16 * group})))
            (local.set $q (i32.add (local.get $a) (local.get $dsb)))
            (local.set $c (i32.add (local.get $c) (i32.const ${block})))
            (br $blocks)))
          (local.set $r (i32.add (local.get $r) (i32.const ${block})))
          (br $rows)))
        (local.set $c0 (local.get $c1))
        (br $tiles_c)))
      (local.set $r0 (local.get $r1))
      (br $tiles_r)))
    ${scalarLoop("right", "(i32.const 0)", "(local.get $rn)", "(local.get $cn)", "(local.get $cols)")}
    ${scalarLoop("bottom", "(local.get $rn)", "(local.get $rows)", "(i32.const 0)", "(local.get $cols)")})`;
}

// Lane comparisons are signed (SSE has no unsigned ones; V8 emulates them) on values that are
// never negative: magnitudes with the sign bit cleared, or 16-bit patterns.
// The casts work on 8 elements per step over n rounded up to a multiple of 8 (the caller leaves
// room; the extra lanes are computed from whatever is there and never read back). The per-lane
// math is written out inline (a call per vector costs as much as the math) with its constants in
// locals set before the loop.

const splat = (value) => `(i32x4.splat (i32.const ${value}))`;

/** Locals, their constant values, and a builder of the inline code that sets `$out` from `$x`. */
const LANE_MATH = {
  // bfloat16 bits (low half of each lane) of float32 bits: round to nearest even; a NaN keeps its
  // sign and top payload bits and is made quiet.
  bf16: {
    constants: { k7fff: "0x7fff", k1: "1", k40: "0x40", kabs: "0x7fffffff", kinf: "0x7f800000" },
    code: (x, out) => `
      (local.set ${out}
        (v128.bitselect
          (v128.or (i32x4.shr_u (local.get ${x}) (i32.const 16)) (local.get $k40))
          (i32x4.shr_u
            (i32x4.add (i32x4.add (local.get ${x}) (local.get $k7fff))
              (v128.and (i32x4.shr_u (local.get ${x}) (i32.const 16)) (local.get $k1)))
            (i32.const 16))
          (i32x4.gt_s (v128.and (local.get ${x}) (local.get $kabs)) (local.get $kinf))))`,
  },
  // float16 bits (low half of each lane) of float32 bits: round to nearest even, ±Inf past the
  // range, every NaN → 0x7e00. Below 2^-14 the sum |x| + 0.5 rounds |x| to whole units of 2^-24
  // (the float16 subnormal step) in one correctly rounded float32 addition.
  f16: {
    constants: {
      kabs: "0x7fffffff",
      k8000: "0x8000",
      krebias: "0x38000000",
      kfff: "0xfff",
      k1: "1",
      khalf: "0x3f000000",
      kminnormal: "0x38800000",
      koverflow: "0x47800000",
      k7c00: "0x7c00",
      k7e00: "0x7e00",
      kinf: "0x7f800000",
    },
    code: (x, out) => `
      (local.set $abs (v128.and (local.get ${x}) (local.get $kabs)))
      (local.set ${out}
        (i32x4.shr_u
          (i32x4.add (i32x4.sub (local.get $abs) (local.get $krebias))
            (i32x4.add (local.get $kfff) (v128.and (i32x4.shr_u (local.get $abs) (i32.const 13)) (local.get $k1))))
          (i32.const 13)))
      (local.set ${out}
        (v128.bitselect
          (i32x4.sub (f32x4.add (local.get $abs) (local.get $khalf)) (local.get $khalf))
          (local.get ${out})
          (i32x4.lt_s (local.get $abs) (local.get $kminnormal))))
      (local.set ${out}
        (v128.bitselect (local.get $k7c00) (local.get ${out}) (i32x4.ge_s (local.get $abs) (local.get $koverflow))))
      (local.set ${out}
        (v128.bitselect (local.get $k7e00)
          (v128.or (local.get ${out}) (v128.and (i32x4.shr_u (local.get ${x}) (i32.const 16)) (local.get $k8000)))
          (i32x4.gt_s (local.get $abs) (local.get $kinf))))`,
  },
  // float32 bits of float16 bits (low half of each lane): exact; every NaN → 0x7fc00000, as a
  // JavaScript NaN stored in a Float32Array.
  f32OfF16: {
    constants: { k7c00: "0x7c00", k7fff: "0x7fff", k8000: "0x8000", krebias: "0x38000000", kinf: "0x7f800000", knan: "0x7fc00000", kzero: "0" },
    code: (x, out) => `
      (local.set $abs (v128.and (local.get ${x}) (local.get $k7fff)))
      (local.set $exp (v128.and (local.get ${x}) (local.get $k7c00)))
      (local.set ${out}
        (v128.bitselect
          ;; zero and subnormal: mantissa × 2^-24, exact in float32 (signed convert: one instruction, and the lanes used are < 2^10)
          (f32x4.mul (f32x4.convert_i32x4_s (local.get $abs)) (local.get $ktiny))
          ;; normal: exponent and mantissa moved up, exponent rebiased from 15 to 127
          (i32x4.add (i32x4.shl (local.get $abs) (i32.const 13)) (local.get $krebias))
          (i32x4.eq (local.get $exp) (local.get $kzero))))
      (local.set ${out}
        (v128.bitselect (local.get $kinf) (local.get ${out}) (i32x4.eq (local.get $exp) (local.get $k7c00))))
      (local.set ${out}
        (v128.bitselect (local.get $knan)
          (v128.or (local.get ${out}) (i32x4.shl (v128.and (local.get ${x}) (local.get $k8000)) (i32.const 16)))
          (i32x4.gt_s (local.get $abs) (local.get $k7c00))))`,
  },
};

function castPrologue(math) {
  const names = Object.keys(math.constants);
  const locals = ["$x0", "$x1", "$y0", "$y1", "$abs", "$exp", "$ktiny", ...names.map((n) => `$${n}`)].map((n) => `(local ${n} v128)`).join(" ");
  const sets = names.map((n) => `(local.set $${n} ${splat(math.constants[n])})`).join("\n    ");
  return `(local $end i32) ${locals}
    ${sets}
    (local.set $ktiny (f32x4.splat (f32.const 0x1p-24)))`;
}

/** float32 → 16-bit: two vectors of four lanes in, one vector of eight lanes out per step. */
function narrowing(name, math) {
  return `
  (func (export "${name}") (param $src i32) (param $dst i32) (param $n i32)
    ${castPrologue(math)}
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 1))))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (local.set $x0 (v128.load align=1 (local.get $src)))
      (local.set $x1 (v128.load offset=16 align=1 (local.get $src)))
      ${math.code("$x0", "$y0")}
      ${math.code("$x1", "$y1")}
      (v128.store align=1 (local.get $dst)
        (i8x16.shuffle 0 1 4 5 8 9 12 13 16 17 20 21 24 25 28 29 (local.get $y0) (local.get $y1)))
      (local.set $src (i32.add (local.get $src) (i32.const 32)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br $step))))`;
}

/** 16-bit → float32: one vector of eight lanes in, two of four out per step. */
function widening(name, math) {
  return `
  (func (export "${name}") (param $src i32) (param $dst i32) (param $n i32)
    ${castPrologue(math)}
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (local.set $x1 (v128.load align=1 (local.get $src)))
      (local.set $x0 (i32x4.extend_low_i16x8_u (local.get $x1)))
      (local.set $x1 (i32x4.extend_high_i16x8_u (local.get $x1)))
      ${math.code("$x0", "$y0")}
      ${math.code("$x1", "$y1")}
      (v128.store align=1 (local.get $dst) (local.get $y0))
      (v128.store offset=16 align=1 (local.get $dst) (local.get $y1))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br $step))))`;
}

const castFuncs = [
  narrowing("f32_to_bf16", LANE_MATH.bf16),
  narrowing("f32_to_f16", LANE_MATH.f16),
  widening("f16_to_f32", LANE_MATH.f32OfF16),
  widening("bf16_to_f32", { constants: {}, code: (x, out) => `(local.set ${out} (i32x4.shl (local.get ${x}) (i32.const 16)))` }),
].join("\n");

const wat = `;; Generated by scripts/build-wasm-kernels.mjs. Do not edit; edit the script.
(module
  (memory (export "memory") 1)
${Object.entries(GROUPS)
  .map(([size, group]) => transposeFunc(Number(size), group))
  .join("\n")}
${castFuncs}
${DEQUANT_FUNCS}
)
`;

const dir = mkdtempSync(join(tmpdir(), "wb-wasm-"));
try {
  writeFileSync(join(dir, "kernels.wat"), wat);
  execFileSync("wat2wasm", [join(dir, "kernels.wat"), "-o", join(dir, "kernels.wasm")], { stdio: "inherit" });
  const bytes = readFileSync(join(dir, "kernels.wasm"));
  if (process.argv.includes("--print")) process.stdout.write(wat);
  const lines = bytes.toString("base64").match(/.{1,100}/g);
  const out = new URL("../src/kernels/wasm/layout-kernels-bytes.ts", import.meta.url);
  const text =
    `// Generated by scripts/build-wasm-kernels.mjs from the WebAssembly text it holds (${bytes.length} bytes). Do not edit.\n` +
    `export const LAYOUT_KERNELS_WASM_BASE64 =\n${lines.map((l) => `  "${l}"`).join(" +\n")};\n` +
    `/** Elements per side of the block each transpose kernel moves in one step, by element size: tiles are multiples of it. */\n` +
    `export const LAYOUT_KERNEL_BLOCKS: Record<number, number> = ${JSON.stringify(Object.fromEntries(Object.entries(GROUPS).map(([size, g]) => [size, (16 / size) * g])))};\n`;
  if (process.argv.includes("--check")) {
    const same = readFileSync(out, "utf8") === text;
    console.log(
      same ? "src/kernels/wasm/layout-kernels-bytes.ts is up to date" : "src/kernels/wasm/layout-kernels-bytes.ts differs from what this script makes",
    );
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${bytes.length} bytes of WebAssembly`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
