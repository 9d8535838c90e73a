// WebAssembly text of the GGUF block dequantizers (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K → float32), for
// scripts/build-wasm-kernels.mjs. Each computes what src/formats/gguf/dequant/ computes in
// JavaScript, in the same float32 operations in the same order, so the bytes are the same:
// scale = f32(d · sub-block scale), then value = f32(scale · q) (− min).
// Signature: (src, dst, blocks, table), byte addresses; `table` holds float32 values of all 65536
// float16 bit patterns (the caller copies in the JavaScript decoders' table, NaNs and all).

/** The float32 of the float16 at `at` + `offset`, looked up in the table. */
const half = (at, offset) => `(f32.load (i32.add (local.get $table) (i32.shl (i32.load16_u offset=${offset} (local.get ${at})) (i32.const 2))))`;

/**
 * Stores 16 byte lanes of `v` (unsigned 0..255, or signed with `signed`) as 16 float32 at
 * dst + `offset`, each multiplied by `scale` and minus `min` when given (f32x4 locals).
 */
function store16(v, offset, scale, min, signed) {
  const s = signed ? "s" : "u";
  const lines = [`(local.set $w0 (i16x8.extend_low_i8x16_${s} ${v}))`, `(local.set $w1 (i16x8.extend_high_i8x16_${s} (local.get $v)))`];
  const parts = [
    ["$w0", "low"],
    ["$w0", "high"],
    ["$w1", "low"],
    ["$w1", "high"],
  ];
  parts.forEach(([w, side], k) => {
    let value = `(f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_${side}_i16x8_${s} (local.get ${w}))) (local.get ${scale}))`;
    if (min) value = `(f32x4.sub ${value} (local.get ${min}))`;
    lines.push(`(v128.store offset=${offset + 16 * k} align=1 (local.get $o) ${value})`);
  });
  return lines.join("\n      ");
}

/** `(local.set $v X)` then store16 of $v: `v` must be written through $v so the high half can reuse it. */
const emit16 = (expr, offset, scale, min, signed) => `(local.set $v ${expr})\n      ${store16("(local.get $v)", offset, scale, min, signed)}`;

const load = (offset) => `(v128.load offset=${offset} align=1 (local.get $b))`;
const splatI8 = (value) => `(i8x16.splat (i32.const ${value}))`;
const low4 = (v) => `(v128.and ${v} (local.get $k15))`;
const high4 = (v) => `(i8x16.shr_u ${v} (i32.const 4))`;

function blockLoop(name, blockBytes, valuesPerBlock, body) {
  return `
  (func (export "${name}") (param $src i32) (param $dst i32) (param $n i32) (param $table i32)
    (local $b i32) (local $o i32) (local $end i32) (local $t i32) (local $u i32)
    (local $d f32) (local $dmin f32)
    (local $v v128) (local $w0 v128) (local $w1 v128) (local $hi v128) (local $hb v128)
    (local $scale v128) (local $min v128) (local $k15 v128) (local $k3 v128) (local $k1 v128) (local $k8 v128) (local $k32 v128)
    (local.set $k15 ${splatI8(15)})
    (local.set $k3 ${splatI8(3)})
    (local.set $k1 ${splatI8(1)})
    (local.set $k8 ${splatI8(8)})
    (local.set $k32 ${splatI8(32)})
    (local.set $b (local.get $src))
    (local.set $o (local.get $dst))
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $n) (i32.const ${blockBytes}))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $b) (local.get $end)))
      ${body}
      (local.set $b (i32.add (local.get $b) (i32.const ${blockBytes})))
      (local.set $o (i32.add (local.get $o) (i32.const ${valuesPerBlock * 4})))
      (br $next))))`;
}

// Q8_0: half d, int8 q[32]; value = f32(d · q).
const q8_0 = blockLoop(
  "dequant_q8_0",
  34,
  32,
  `(local.set $scale (f32x4.splat ${half("$b", 0)}))
      ${emit16(load(2), 0, "$scale", null, true)}
      ${emit16(load(18), 64, "$scale", null, true)}`,
);

// Q4_0: half d, 16 bytes of nibbles (low nibbles values 0-15, high 16-31); value = f32(d · (q − 8)).
const q4_0 = blockLoop(
  "dequant_q4_0",
  18,
  32,
  `(local.set $scale (f32x4.splat ${half("$b", 0)}))
      (local.set $hi ${load(2)})
      ${emit16(`(i8x16.sub ${low4("(local.get $hi)")} (local.get $k8))`, 0, "$scale", null, true)}
      ${emit16(`(i8x16.sub ${high4("(local.get $hi)")} (local.get $k8))`, 64, "$scale", null, true)}`,
);

/** Q4_K/Q5_K sub-block j's 6-bit scale and min (ggml's get_scale_min_k4) as f32x4 splats of d·sc and dmin·m. */
function scaleAndMin(j) {
  const byte = (k) => `(i32.load8_u offset=${4 + k} (local.get $b))`;
  const sc =
    j < 4
      ? `(i32.and ${byte(j)} (i32.const 63))`
      : `(i32.or (i32.and ${byte(j + 4)} (i32.const 15)) (i32.and (i32.shr_u ${byte(j - 4)} (i32.const 2)) (i32.const 0x30)))`;
  const mn =
    j < 4
      ? `(i32.and ${byte(j + 4)} (i32.const 63))`
      : `(i32.or (i32.shr_u ${byte(j + 4)} (i32.const 4)) (i32.and (i32.shr_u ${byte(j)} (i32.const 2)) (i32.const 0x30)))`;
  return `(local.set $scale (f32x4.splat (f32.mul (local.get $d) (f32.convert_i32_u ${sc}))))
      (local.set $min (f32x4.splat (f32.mul (local.get $dmin) (f32.convert_i32_u ${mn}))))`;
}

function kBlock(name, blockBytes, withHigh) {
  const qs = withHigh ? 48 : 16;
  const parts = [`(local.set $d ${half("$b", 0)})`, `(local.set $dmin ${half("$b", 2)})`];
  for (let j = 0; j < 8; j++) {
    parts.push(scaleAndMin(j));
    for (let h = 0; h < 2; h++) {
      const bytes = load(qs + (j >> 1) * 32 + 16 * h);
      let q = j & 1 ? high4(bytes) : low4(bytes);
      // Q5_K: bit j of qh[l] is the fifth bit of value l of sub-block j.
      if (withHigh) q = `(v128.or ${q} (i8x16.shl (v128.and (i8x16.shr_u ${load(16 + 16 * h)} (i32.const ${j})) (local.get $k1)) (i32.const 4)))`;
      parts.push(emit16(q, j * 128 + h * 64, "$scale", "$min", false));
    }
  }
  return blockLoop(name, blockBytes, 256, parts.join("\n      "));
}

// Q6_K: ql[128] low nibbles, qh[64] 2-bit highs, int8 scales[16], half d; value = f32(d·sc) · (q − 32).
function q6_K() {
  const parts = [`(local.set $d ${half("$b", 208)})`];
  for (let g = 0; g < 16; g++) {
    const e = g * 16;
    const half64 = e >> 7;
    const lowAt = half64 * 64 + (e & 63);
    const lowShift = 4 * ((e >> 6) & 1);
    const highAt = 128 + half64 * 32 + (e & 31);
    const highShift = 2 * ((e >> 5) & 3);
    const low = lowShift ? high4(load(lowAt)) : low4(load(lowAt));
    const high = `(i8x16.shl (v128.and ${highShift ? `(i8x16.shr_u ${load(highAt)} (i32.const ${highShift}))` : load(highAt)} (local.get $k3)) (i32.const 4))`;
    parts.push(`(local.set $scale (f32x4.splat (f32.mul (local.get $d) (f32.convert_i32_s (i32.load8_s offset=${192 + g} (local.get $b))))))`);
    parts.push(emit16(`(i8x16.sub (v128.or ${low} ${high}) (local.get $k32))`, g * 64, "$scale", null, true));
  }
  return blockLoop("dequant_q6_k", 210, 256, parts.join("\n      "));
}

export const DEQUANT_FUNCS = [q8_0, q4_0, kBlock("dequant_q4_k", 144, false), kBlock("dequant_q5_k", 176, true), q6_K()].join("\n");

/** The exported kernels by ggml type name, with their block sizes (bytes, values). */
export const DEQUANT_KERNELS = {
  Q8_0: { name: "dequant_q8_0", bytes: 34, values: 32 },
  Q4_0: { name: "dequant_q4_0", bytes: 18, values: 32 },
  Q4_K: { name: "dequant_q4_k", bytes: 144, values: 256 },
  Q5_K: { name: "dequant_q5_k", bytes: 176, values: 256 },
  Q6_K: { name: "dequant_q6_k", bytes: 210, values: 256 },
};
