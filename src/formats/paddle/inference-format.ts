import type { Format } from "../types.js";
import { inferenceFileKind, type InferenceFileKind } from "./sniff.js";
import { readInference } from "./inference-read.js";
import { writeInference } from "./inference-write.js";

/**
 * Paddle inference models: `.pdmodel` (ProgramDesc protobuf) or Paddle 3 `.json` (PIR) +
 * `.pdiparams` (tensor stream) + optional `.pdiparams.info`. Either file can be opened; the
 * other is found beside it. Sniffed by content; `.json` is only claimed when it is a PIR program.
 */
export const paddleInferenceFormat: Format<{ variant: InferenceFileKind }, "paddle-inference"> = {
  id: "paddle-inference",
  framework: "paddle",
  conventionsFixed: true,
  presetName: "paddle",
  singleModel: true,
  writesSeveralFiles: "a Paddle inference model is MODEL.pdmodel plus MODEL.pdiparams",
  name: "PaddlePaddle inference model",
  extensions: [".pdiparams", ".pdmodel"],
  async sniff({ head, source }) {
    const kind = await inferenceFileKind(source, head);
    return kind ? { variant: kind } : false;
  },
  read: (source, options, finding) => readInference(source, options, finding?.variant),
  write: (checkpoint, sink, options) => writeInference(checkpoint, sink, options),
};
