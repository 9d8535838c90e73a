import type { Operator } from "./generated/operator.js";
import { BuiltinOptions } from "./generated/builtin-options.js";
import { ActivationFunctionType } from "./generated/activation-function-type.js";
import { Padding } from "./generated/padding.js";
import { Conv2DOptions } from "./generated/conv2doptions.js";
import { DepthwiseConv2DOptions } from "./generated/depthwise-conv2doptions.js";
import { FullyConnectedOptions } from "./generated/fully-connected-options.js";
import { TransposeConvOptions } from "./generated/transpose-conv-options.js";
import { UnidirectionalSequenceLSTMOptions } from "./generated/unidirectional-sequence-lstmoptions.js";
import { ReshapeOptions } from "./generated/reshape-options.js";

/** The option values of an operator that layer hints, the report and reference semantics use. */
export type OperatorOptions = Record<string, number | string | boolean | number[]>;

const activation = (a: ActivationFunctionType): string => ActivationFunctionType[a] ?? String(a);
const padding = (p: Padding): string => Padding[p] ?? String(p);

/** One reader per options table worth passing on; other operators' options are not needed to place weights. */
const READERS: Partial<Record<BuiltinOptions, (op: Operator) => OperatorOptions>> = {
  [BuiltinOptions.Conv2DOptions]: (op) => {
    const o = op.builtinOptions(new Conv2DOptions()) as Conv2DOptions;
    return {
      padding: padding(o.padding()),
      stride: [o.strideH(), o.strideW()],
      dilation: [o.dilationHFactor(), o.dilationWFactor()],
      activation: activation(o.fusedActivationFunction()),
    };
  },
  [BuiltinOptions.DepthwiseConv2DOptions]: (op) => {
    const o = op.builtinOptions(new DepthwiseConv2DOptions()) as DepthwiseConv2DOptions;
    return {
      padding: padding(o.padding()),
      stride: [o.strideH(), o.strideW()],
      dilation: [o.dilationHFactor(), o.dilationWFactor()],
      depth_multiplier: o.depthMultiplier(),
      activation: activation(o.fusedActivationFunction()),
    };
  },
  [BuiltinOptions.FullyConnectedOptions]: (op) => {
    const o = op.builtinOptions(new FullyConnectedOptions()) as FullyConnectedOptions;
    return { activation: activation(o.fusedActivationFunction()), keep_num_dims: o.keepNumDims(), weights_format: o.weightsFormat() };
  },
  [BuiltinOptions.TransposeConvOptions]: (op) => {
    const o = op.builtinOptions(new TransposeConvOptions()) as TransposeConvOptions;
    return { padding: padding(o.padding()), stride: [o.strideH(), o.strideW()], activation: activation(o.fusedActivationFunction()) };
  },
  [BuiltinOptions.UnidirectionalSequenceLSTMOptions]: (op) => {
    const o = op.builtinOptions(new UnidirectionalSequenceLSTMOptions()) as UnidirectionalSequenceLSTMOptions;
    return { activation: activation(o.fusedActivationFunction()), cell_clip: o.cellClip(), proj_clip: o.projClip(), time_major: o.timeMajor() };
  },
  [BuiltinOptions.ReshapeOptions]: (op) => {
    const o = op.builtinOptions(new ReshapeOptions()) as ReshapeOptions;
    const options: OperatorOptions = {};
    if (o.newShapeLength() > 0) options.new_shape = [...(o.newShapeArray() ?? [])];
    return options;
  },
};

export function operatorOptions(op: Operator): OperatorOptions {
  return READERS[op.builtinOptionsType()]?.(op) ?? {};
}
