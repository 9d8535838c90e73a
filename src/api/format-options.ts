import type { FormatOptions } from "../formats/index.js";

/** The flat options of weightbridge 0.1, kept working for library callers. */
export interface FlatFormatOptions {
  formatOptions?: FormatOptions;
  /** @deprecated use `formatOptions: { paddle: { pickleProtocol } }` */
  pickleProtocol?: number;
  /** @deprecated use `formatOptions: { onnx: { externalData } }` */
  externalData?: boolean;
}

/** `formatOptions` with the flat 0.1 options folded into their groups (a grouped value wins). */
export function groupedFormatOptions(options: FlatFormatOptions): FormatOptions {
  const { pickleProtocol, externalData, formatOptions = {} } = options;
  const out: FormatOptions = { ...formatOptions };
  if (pickleProtocol !== undefined) out.paddle = { ...formatOptions.paddle, pickleProtocol: formatOptions.paddle?.pickleProtocol ?? pickleProtocol };
  if (externalData !== undefined) out.onnx = { ...formatOptions.onnx, externalData: formatOptions.onnx?.externalData ?? externalData };
  return out;
}
