import { it } from "vitest";
import { fileSource } from "/work/wt-torch-module/src/io/source.js";
import { readOnnxGraph } from "/work/wt-torch-module/src/formats/onnx/graph.js";
import { emitTorchModule } from "/work/wt-torch-module/src/graph/to-torch/emit.js";
it("prints", async () => {
  const s = await fileSource(process.env.CASE!);
  const m = await emitTorchModule(await readOnnxGraph(s));
  console.log(m.source);
});
