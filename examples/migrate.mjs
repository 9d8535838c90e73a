// A migration script: take the model weights out of a training checkpoint, cast them to
// bfloat16, add a prefix, and save them as safetensors. Run from the repository root:
//   node examples/migrate.mjs
import { read, selectSubtree, write, castTensor } from "weightbridge";

const checkpoint = await read("fixtures/pytorch/training_checkpoint.pt");
try {
  console.log(`${checkpoint.format} checkpoint from epoch ${checkpoint.meta.epoch}, loss ${checkpoint.meta.loss}`);
  const model = selectSubtree(checkpoint, "model_state_dict");
  const tensors = model.tensors.map((t) => ({ ...castTensor(t, "bfloat16"), name: `encoder.${t.name}` }));
  await write({ tensors, meta: { format: "pt" } }, "migrated.safetensors", { force: true });
  for (const t of tensors) console.log(`${t.name}  ${t.dtype}  [${t.shape.join(", ")}]`);
} finally {
  await checkpoint.close();
}
