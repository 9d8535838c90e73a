import type * as Ort from "onnxruntime-node";

// onnxruntime-node is an optional peer dependency: the whole-model check runs ONNX graphs with it
// when it is installed, and says how to get it when it is not. A variable specifier keeps bundlers
// (the web page's esbuild) from trying to resolve it.

export type OnnxRuntime = typeof Ort;

export const ENABLE_HINT = "install onnxruntime-node (npm install onnxruntime-node) to run the whole-model check";

const PACKAGE = "onnxruntime-node";
let loaded: Promise<OnnxRuntime | undefined> | undefined;

/** onnxruntime-node, or undefined when it is not installed (or its native binary will not load). */
export function onnxRuntime(): Promise<OnnxRuntime | undefined> {
  loaded ??= import(PACKAGE).then(
    (m: { default?: OnnxRuntime } & OnnxRuntime) => m.default ?? m,
    () => undefined,
  );
  return loaded;
}
