import type { Finding, Format } from "../types.js";
import { u32 } from "../../util/bytes.js";
import { GGUF_MAGIC } from "./header-read.js";
import { readGguf } from "./read.js";
import { writeGguf } from "./write.js";
import { ggufMetaForOtherFormats } from "./foreign-meta.js";
import { ggufFactsOfHfConfig, ggufFactsOfMeta, hfLayerHint } from "./hf-config.js";

export const ggufFormat: Format<Finding, "gguf"> = {
  id: "gguf",
  name: "GGUF (llama.cpp)",
  extensions: [".gguf"],
  templateIsMetadata: true,
  metaForOtherFormats: ggufMetaForOtherFormats,
  usesHfConfig: { ofConfig: ggufFactsOfHfConfig, ofMeta: ggufFactsOfMeta, layerHint: hfLayerHint },
  sniff({ head }) {
    return head.length >= 8 && u32(head, 0) === GGUF_MAGIC ? {} : false;
  },
  read: (source) => readGguf(source),
  write: (checkpoint, sink, options) => writeGguf(checkpoint, sink, options),
};
