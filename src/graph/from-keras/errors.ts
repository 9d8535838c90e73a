/** A layer (or one of its options) that cannot be lowered to ONNX: the conversion refuses it. */
export class KerasLoweringError extends Error {
  constructor(
    readonly layer: string,
    readonly className: string,
    readonly option: string,
    readonly why: string,
  ) {
    super(`layer ${layer} (${className}): ${option} ${why}`);
    this.name = "KerasLoweringError";
  }
}
