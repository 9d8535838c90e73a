import { describe, expect, it } from "vitest";
import { hasPythonModules } from "../helpers/python.js";
import { checkWrittenAtEnd, sequential } from "./keras-onnx-harness.js";
import { runPythonCase } from "./keras-onnx-python.js";

// Layers and options TensorFlow.js lacks, each against PyTorch/numpy written from Keras' own
// definitions (see keras-onnx-python.ts). Layer names follow sequential(): `<model>_<i>_<class>`.

interface PyCase {
  config: ReturnType<typeof sequential>;
  weights: Record<string, number[]>;
  input: number[];
  python: string;
  kerasVersion?: string;
}

const CASES: Record<string, () => PyCase> = {
  conv2d_groups: () => ({
    config: sequential("g", [6, 6, 4], [["Conv2D", { filters: 6, kernel_size: [3, 3], groups: 2 }]]),
    weights: { "g_0_conv2d/kernel:0": [3, 3, 2, 6], "g_0_conv2d/bias:0": [6] },
    input: [2, 6, 6, 4],
    python: `y = nhwc(F.conv2d(T(nchw(x)), T(W["g_0_conv2d/kernel"].transpose(3, 2, 0, 1)), T(W["g_0_conv2d/bias"]), groups=2).numpy())`,
  }),
  conv1d_causal_dilated: () => ({
    config: sequential("c", [9, 3], [["Conv1D", { filters: 4, kernel_size: 3, padding: "causal", dilation_rate: 2 }]]),
    weights: { "c_0_conv1d/kernel:0": [3, 3, 4], "c_0_conv1d/bias:0": [4] },
    input: [2, 9, 3],
    python: `y = nhwc(F.conv1d(F.pad(T(nchw(x)), (4, 0)), T(W["c_0_conv1d/kernel"].transpose(2, 1, 0)), T(W["c_0_conv1d/bias"]), dilation=2).numpy())`,
  }),
  conv1d_transpose: () => ({
    config: sequential("t1", [5, 3], [["Conv1DTranspose", { filters: 2, kernel_size: 3, strides: 2, padding: "valid" }]]),
    weights: { "t1_0_conv1dtranspose/kernel:0": [3, 2, 3], "t1_0_conv1dtranspose/bias:0": [2] },
    input: [2, 5, 3],
    python: `y = nhwc(F.conv_transpose1d(T(nchw(x)), T(W["t1_0_conv1dtranspose/kernel"].transpose(2, 1, 0)), T(W["t1_0_conv1dtranspose/bias"]), stride=2).numpy())`,
  }),
  conv3d_transpose_same: () => ({
    config: sequential("t3", [3, 3, 3, 2], [["Conv3DTranspose", { filters: 2, kernel_size: [3, 3, 3], strides: [2, 2, 2], padding: "same" }]]),
    weights: { "t3_0_conv3dtranspose/kernel:0": [3, 3, 3, 2, 2], "t3_0_conv3dtranspose/bias:0": [2] },
    input: [1, 3, 3, 3, 2],
    // SAME: the full transposed conv (7 per axis) cropped by 0 at the start, 1 at the end, to 6.
    python: `full = F.conv_transpose3d(T(nchw(x)), T(W["t3_0_conv3dtranspose/kernel"].transpose(4, 3, 0, 1, 2)), T(W["t3_0_conv3dtranspose/bias"]), stride=2).numpy()\ny = nhwc(full[:, :, 0:6, 0:6, 0:6])`,
  }),
  depthwise_separable_1d: () => ({
    config: sequential(
      "s1",
      [7, 3],
      [
        ["SeparableConv1D", { filters: 4, kernel_size: 3, depth_multiplier: 2, padding: "same" }],
        ["DepthwiseConv1D", { kernel_size: 2 }],
      ],
    ),
    weights: {
      "s1_0_separableconv1d/depthwise_kernel:0": [3, 3, 2],
      "s1_0_separableconv1d/pointwise_kernel:0": [1, 6, 4],
      "s1_0_separableconv1d/bias:0": [4],
      "s1_1_depthwiseconv1d/depthwise_kernel:0": [2, 4, 1],
      "s1_1_depthwiseconv1d/bias:0": [4],
    },
    input: [2, 7, 3],
    python: `h = F.conv1d(F.pad(T(nchw(x)), (1, 1)), T(W["s1_0_separableconv1d/depthwise_kernel"].transpose(1, 2, 0).reshape(6, 1, 3)), groups=3)
h = F.conv1d(h, T(W["s1_0_separableconv1d/pointwise_kernel"].transpose(2, 1, 0)), T(W["s1_0_separableconv1d/bias"]))
y = nhwc(F.conv1d(h, T(W["s1_1_depthwiseconv1d/depthwise_kernel"].transpose(1, 2, 0).reshape(4, 1, 2)), T(W["s1_1_depthwiseconv1d/bias"]), groups=4).numpy())`,
  }),
  elu_relu_options: () => ({
    config: sequential(
      "a",
      [10],
      [
        ["ELU", { alpha: 0.7 }],
        ["ReLU", { negative_slope: 0.2, threshold: 0.1, max_value: 0.4 }],
      ],
    ),
    weights: {},
    input: [3, 10],
    python: `e = np.where(x > 0, x, 0.7 * (np.exp(x) - 1))\ny = np.minimum(np.where(e >= 0.1, e, 0.2 * (e - 0.1)), 0.4)`,
  }),
  subtract_functional: () => ({
    config: {
      class_name: "Functional",
      config: {
        name: "sub",
        layers: [
          { class_name: "InputLayer", name: "x", config: { name: "x", batch_input_shape: [null, 4] }, inbound_nodes: [] },
          { class_name: "Dense", name: "d", config: { name: "d", units: 4 }, inbound_nodes: [[["x", 0, 0, {}]]] },
          {
            class_name: "Subtract",
            name: "s",
            config: { name: "s" },
            inbound_nodes: [
              [
                ["d", 0, 0, {}],
                ["x", 0, 0, {}],
              ],
            ],
          },
        ],
        input_layers: [["x", 0, 0]],
        output_layers: [["s", 0, 0]],
      },
    } as never,
    weights: { "d/kernel:0": [4, 4], "d/bias:0": [4] },
    input: [2, 4],
    python: `y = x @ W["d/kernel"] + W["d/bias"] - x`,
  }),
  tf_op_lambda: () => ({
    config: {
      class_name: "Functional",
      config: {
        name: "tfop",
        layers: [
          { class_name: "InputLayer", name: "x", config: { name: "x", batch_input_shape: [null, 4] }, inbound_nodes: [] },
          { class_name: "Dense", name: "d", config: { name: "d", units: 4 }, inbound_nodes: [[["x", 0, 0, {}]]] },
          {
            class_name: "TFOpLambda",
            name: "tf.math.multiply",
            config: { name: "tf.math.multiply", function: "math.multiply" },
            inbound_nodes: [[["d", 0, 0, { y: 2.5, name: null }]]],
          },
          {
            class_name: "TFOpLambda",
            name: "tf.__operators__.add",
            config: { name: "tf.__operators__.add", function: "__operators__.add" },
            inbound_nodes: [[["tf.math.multiply", 0, 0, { y: ["x", 0, 0], name: null }]]],
          },
          {
            class_name: "TFOpLambda",
            name: "tf.nn.relu",
            config: { name: "tf.nn.relu", function: "nn.relu" },
            inbound_nodes: [[["tf.__operators__.add", 0, 0, { name: null }]]],
          },
        ],
        input_layers: [["x", 0, 0]],
        output_layers: [["tf.nn.relu", 0, 0]],
      },
    } as never,
    weights: { "d/kernel:0": [4, 4], "d/bias:0": [4] },
    input: [2, 4],
    python: `y = np.maximum((x @ W["d/kernel"] + W["d/bias"]) * 2.5 + x, 0)`,
  }),
  multi_head_self_attention: () => ({
    config: {
      class_name: "Functional",
      config: {
        name: "att",
        layers: [
          { class_name: "InputLayer", name: "x", config: { name: "x", batch_input_shape: [null, 5, 4] }, inbound_nodes: [] },
          {
            class_name: "MultiHeadAttention",
            name: "mha",
            config: { name: "mha", num_heads: 2, key_dim: 3, value_dim: 2, output_shape: 6 },
            inbound_nodes: [[["x", 0, 0, { value: ["x", 0, 0] }]]],
          },
        ],
        input_layers: [["x", 0, 0]],
        output_layers: [["mha", 0, 0]],
      },
    } as never,
    weights: {
      "mha/query/kernel:0": [4, 2, 3],
      "mha/query/bias:0": [2, 3],
      "mha/key/kernel:0": [4, 2, 3],
      "mha/key/bias:0": [2, 3],
      "mha/value/kernel:0": [4, 2, 2],
      "mha/value/bias:0": [2, 2],
      "mha/attention_output/kernel:0": [2, 2, 6],
      "mha/attention_output/bias:0": [6],
    },
    input: [2, 5, 4],
    python: `p = lambda r: np.einsum("btd,dhk->bthk", x, W[f"mha/{r}/kernel"]) + W[f"mha/{r}/bias"]
q, k, v = p("query") / np.sqrt(3), p("key"), p("value")
s = np.einsum("bthk,bshk->bhts", q, k); s = np.exp(s - s.max(-1, keepdims=True)); s = s / s.sum(-1, keepdims=True)
y = np.einsum("bthv,hvo->bto", np.einsum("bhts,bshv->bthv", s, v), W["mha/attention_output/kernel"]) + W["mha/attention_output/bias"]`,
  }),
  resizing: () => ({
    config: sequential(
      "rs",
      [4, 6, 2],
      [
        ["Resizing", { height: 7, width: 3, interpolation: "bilinear" }],
        ["Resizing", { height: 9, width: 5, interpolation: "nearest" }],
      ],
    ),
    weights: {},
    input: [2, 4, 6, 2],
    // tf.image.resize: bilinear with half-pixel centers (torch align_corners=False, no antialias);
    // nearest takes floor((i + 0.5) * in / out) (torch's nearest-exact).
    python: `h = F.interpolate(T(nchw(x)), size=(7, 3), mode="bilinear", align_corners=False, antialias=False)
y = nhwc(F.interpolate(h, size=(9, 5), mode="nearest-exact").numpy())`,
  }),
  gru_reset_after: () => ({
    config: sequential("gr", [4, 3], [["GRU", { units: 2, reset_after: true, recurrent_activation: "sigmoid", return_sequences: true }]]),
    weights: { "gr_0_gru/gru_cell/kernel:0": [3, 6], "gr_0_gru/gru_cell/recurrent_kernel:0": [2, 6], "gr_0_gru/gru_cell/bias:0": [2, 6] },
    input: [2, 4, 3],
    // Keras' GRUCell with reset_after=True: the reset gate applies after the recurrent matmul.
    python: `K, R, B = W["gr_0_gru/gru_cell/kernel"], W["gr_0_gru/gru_cell/recurrent_kernel"], W["gr_0_gru/gru_cell/bias"]
h = np.zeros((2, 2), np.float32); ys = []
for t in range(4):
    xi = x[:, t] @ K + B[0]; hr = h @ R + B[1]
    z = sigmoid(xi[:, 0:2] + hr[:, 0:2]); r = sigmoid(xi[:, 2:4] + hr[:, 2:4])
    hh = np.tanh(xi[:, 4:6] + r * hr[:, 4:6]); h = z * h + (1 - z) * hh; ys.append(h)
y = np.stack(ys, 1)`,
  }),
  padding_cropping_upsampling_1d_3d: () => ({
    config: sequential(
      "p",
      [4, 2],
      [
        ["ZeroPadding1D", { padding: [1, 2] }],
        ["Cropping1D", { cropping: [2, 0] }],
        ["UpSampling1D", { size: 2 }],
      ],
    ),
    weights: {},
    input: [2, 4, 2],
    python: `p = np.pad(x, ((0, 0), (1, 2), (0, 0)))[:, 2:]\ny = np.repeat(p, 2, axis=1)`,
  }),
  padding_3d: () => ({
    config: sequential(
      "p3",
      [2, 3, 2, 2],
      [
        [
          "ZeroPadding3D",
          {
            padding: [
              [1, 0],
              [0, 1],
              [1, 1],
            ],
          },
        ],
        [
          "Cropping3D",
          {
            cropping: [
              [0, 1],
              [1, 0],
              [0, 2],
            ],
          },
        ],
        ["UpSampling3D", { size: [1, 2, 2] }],
      ],
    ),
    weights: {},
    input: [1, 2, 3, 2, 2],
    python: `p = np.pad(x, ((0, 0), (1, 0), (0, 1), (1, 1), (0, 0)))[:, 0:2, 1:4, 0:2]\ny = np.repeat(np.repeat(p, 2, axis=2), 2, axis=3)`,
  }),
  upsampling_bilinear: () => ({
    config: sequential("ub", [3, 4, 2], [["UpSampling2D", { size: [2, 2], interpolation: "bilinear" }]]),
    weights: {},
    input: [1, 3, 4, 2],
    // tf.image.resize (half-pixel centers) is torch's align_corners=False.
    python: `y = nhwc(F.interpolate(T(nchw(x)), scale_factor=2, mode="bilinear", align_corners=False).numpy())`,
  }),
  keras3_hard_sigmoid_and_more: () => ({
    config: sequential(
      "k3",
      [8],
      [
        ["Activation", { activation: "hard_sigmoid" }],
        ["Activation", { activation: "hard_silu" }],
        ["Activation", { activation: "leaky_relu" }],
        ["Activation", { activation: "log_softmax" }],
      ],
    ),
    weights: {},
    input: [2, 8],
    kerasVersion: "3.3.3",
    python: `h = np.clip(x / 6 + 0.5, 0, 1); h = h * np.clip(h / 6 + 0.5, 0, 1); h = np.where(h > 0, h, 0.2 * h)
y = h - np.log(np.exp(h).sum(-1, keepdims=True))`,
  }),
  // TensorFlow pads the transposed output as the gradient of a conv giving Keras' length: torch's
  // full transposed conv cropped by those pads, rows past it only the bias (valid).
  conv2d_transpose_output_padding_same: () => ({
    config: sequential("op", [3, 4, 2], [["Conv2DTranspose", { filters: 2, kernel_size: [3, 4], strides: [2, 3], padding: "same", output_padding: [1, 2] }]]),
    weights: { "op_0_conv2dtranspose/kernel:0": [3, 4, 2, 2], "op_0_conv2dtranspose/bias:0": [2] },
    input: [2, 3, 4, 2],
    python: `full = F.conv_transpose2d(T(nchw(x)), T(W["op_0_conv2dtranspose/kernel"].transpose(3, 2, 0, 1)), stride=(2, 3)).numpy()
# Keras lengths: (3-1)*2 + 3 - 2 + 1 = 6, (4-1)*3 + 4 - 4 + 2 = 11; TF pads before: (7-6)//2 = 0, (13-11)//2 = 1
y = nhwc(full[:, :, 0:6, 1:12]) + W["op_0_conv2dtranspose/bias"]`,
  }),
  conv1d_transpose_output_padding_valid: () => ({
    config: sequential("opv", [4, 2], [["Conv1DTranspose", { filters: 3, kernel_size: 3, strides: 3, padding: "valid", output_padding: 2 }]]),
    weights: { "opv_0_conv1dtranspose/kernel:0": [3, 3, 2], "opv_0_conv1dtranspose/bias:0": [3] },
    input: [2, 4, 2],
    python: `full = F.conv_transpose1d(T(nchw(x)), T(W["opv_0_conv1dtranspose/kernel"].transpose(2, 1, 0)), stride=3).numpy()
y = nhwc(np.pad(full, ((0, 0), (0, 0), (0, 2)))) + W["opv_0_conv1dtranspose/bias"]`,
  }),
  group_normalization: () => ({
    config: sequential("gn", [4, 5, 6], [["GroupNormalization", { groups: 3, epsilon: 1e-3 }]]),
    weights: { "gn_0_groupnormalization/gamma:0": [6], "gn_0_groupnormalization/beta:0": [6] },
    input: [2, 4, 5, 6],
    kerasVersion: "3.3.3",
    python: `y = nhwc(F.group_norm(T(nchw(x)), 3, T(W["gn_0_groupnormalization/gamma"]), T(W["gn_0_groupnormalization/beta"]), eps=1e-3).numpy())`,
  }),
  keras2_hard_sigmoid_exponential: () => ({
    config: sequential(
      "k2",
      [8],
      [
        ["Activation", { activation: "hard_sigmoid" }],
        ["Activation", { activation: "exponential" }],
      ],
    ),
    weights: {},
    input: [2, 8],
    python: `y = np.exp(np.clip(0.2 * x + 0.5, 0, 1))`,
  }),
  normalization: () => ({
    config: sequential("n", [3, 4], [["Normalization", { axis: -1 }]]),
    weights: { "n_0_normalization/mean:0": [4], "n_0_normalization/variance:0": [4], "n_0_normalization/count:0": [] },
    input: [2, 3, 4],
    python: `y = (x - W["n_0_normalization/mean"]) / np.maximum(np.sqrt(W["n_0_normalization/variance"]), 1e-7)`,
  }),
  global_pool_3d_keepdims: () => ({
    config: sequential(
      "gp",
      [2, 3, 2, 4],
      [
        ["GlobalAveragePooling3D", { keepdims: true }],
        ["Flatten", {}],
      ],
    ),
    weights: {},
    input: [2, 2, 3, 2, 4],
    python: `y = x.mean(axis=(1, 2, 3))`,
  }),
};

describe.skipIf(!hasPythonModules("torch", "numpy"))("Keras layers tfjs lacks → ONNX agree with PyTorch/numpy", () => {
  for (const [name, make] of Object.entries(CASES)) {
    it(name, async () => {
      const c = make();
      const r = await runPythonCase(name, c.config, c.weights, c.input, c.python, { kerasVersion: c.kerasVersion });
      expect(r.spread).toBeGreaterThan(1e-4);
      expect(r.maxRel, `max abs ${r.maxAbs}`).toBeLessThan(1e-4);
    }, 240_000);
  }
});

checkWrittenAtEnd();
