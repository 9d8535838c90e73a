import type { Finding, Format } from "../types.js";
import { u64 } from "../../util/bytes.js";
import { readSafetensors } from "./read.js";
import { writeSafetensors } from "./write.js";

export const safetensorsFormat: Format<Finding, "safetensors"> = {
  id: "safetensors",
  name: "safetensors",
  extensions: [".safetensors"],
  sniff({ head, size }) {
    if (head.length < 9) return false;
    const n = u64(head, 0);
    return n >= 2 && 8 + n <= size && head[8] === 0x7b ? {} : false; // '{'
  },
  read: (source) => readSafetensors(source),
  write: (checkpoint, sink, options) => writeSafetensors(checkpoint, sink, options),
};
