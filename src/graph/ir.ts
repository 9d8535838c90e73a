import type { DType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";

// The neutral model graph every source's architecture becomes and every emitter reads. Its op
// vocabulary is ONNX's operator set (domain "" = ai.onnx, at `opset`): a published, versioned
// semantics with a runtime to prove against, and what onnx2torch and tf2onnx already meet at.
// Sources (a Keras config, an ONNX file; later TFLite and Paddle programs) lower their layers to
// these ops; emitters (an ONNX ModelProto, PyTorch source) raise them again. Weights are not
// copied into the graph: an initializer is a checkpoint Tensor (lazy bytes), so renames and
// layout changes made on the way stay in the mapping report.

/** A dimension: a size, or a symbolic name (`batch`, `sequence`) the graph leaves open. */
export type Dim = number | string;

/** A typed value flowing between nodes: a graph input or output, or a node output. */
export interface ValueInfo {
  name: string;
  dtype: DType;
  /** Undefined when the rank is unknown. */
  shape?: Dim[];
}

/** A node attribute, tagged with its ONNX attribute type (ints and floats differ on the wire). */
export type Attribute =
  | { type: "int"; value: number }
  | { type: "float"; value: number }
  | { type: "string"; value: string }
  | { type: "ints"; value: number[] }
  | { type: "floats"; value: number[] }
  | { type: "strings"; value: string[] }
  | { type: "tensor"; value: Tensor }
  | { type: "graph"; value: Graph };

export interface GraphNode {
  /** Unique within the graph. */
  name: string;
  op: string;
  /** "" is the default ONNX domain (ai.onnx). */
  domain: string;
  /** Value names; "" marks an optional input left out. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
  /** The source layer (Keras layer name, ONNX node name) this node was made from, for names and messages. */
  sourceLayer?: string;
}

export interface Graph {
  name: string;
  /** The ai.onnx opset the nodes' semantics follow. */
  opset: number;
  /** Other domains' opsets (`com.microsoft`: 1), when nodes use them. */
  domains?: Record<string, number>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: GraphNode[];
  /** Constant tensors the nodes read by name: weights (checkpoint tensors) and small constants. */
  initializers: Tensor[];
  /** Shapes and dtypes known for intermediate values. */
  valueInfo?: ValueInfo[];
}

export const int = (value: number): Attribute => ({ type: "int", value });
export const float = (value: number): Attribute => ({ type: "float", value });
export const ints = (value: number[]): Attribute => ({ type: "ints", value });
export const floats = (value: number[]): Attribute => ({ type: "floats", value });
export const string = (value: string): Attribute => ({ type: "string", value });
export const strings = (value: string[]): Attribute => ({ type: "strings", value });
