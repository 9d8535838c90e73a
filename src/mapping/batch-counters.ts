import { BATCH_COUNTERS_KEY, type Checkpoint, type JsonObject } from "../tensor/checkpoint.js";
import { bytesData } from "../tensor/tensor.js";
import { elementReader, hasNumericAccess } from "../kernels/elements.js";
import type { MappingOutcome } from "./report.js";
import type { MappingRun } from "./run.js";

// torch's BatchNorm counts its training batches (`num_batches_tracked`, used by momentum=None);
// Paddle's BatchNorm has no such buffer. A torch → Paddle conversion keeps each count in the
// .pdparams under this key (paddle's set_state_dict skips keys it has no parameter for, as it does
// the name table), and Paddle → torch puts the counts back where the preset would add 0.

const COUNTER = /(^|\.)num_batches_tracked$/;

/**
 * torch → Paddle: the counters the preset dropped go into the output's metadata instead of being
 * lost; they leave the report's `dropped`. Reads the (0-d) counters, hence outside mapCheckpoint.
 */
export async function carryBatchCounters(source: Checkpoint, mapped: MappingOutcome): Promise<void> {
  const byName = new Map(source.tensors.map((t) => [t.name, t]));
  const counts: JsonObject = {};
  for (const name of mapped.report.dropped) {
    const t = byName.get(name);
    if (!t || !COUNTER.test(name) || !hasNumericAccess(t.dtype) || t.shape.reduce((n, d) => n * d, 1) !== 1) continue;
    counts[name] = elementReader(t.dtype, await t.data.read())(0);
  }
  if (Object.keys(counts).length === 0) return;
  mapped.checkpoint.meta = { ...mapped.checkpoint.meta, [BATCH_COUNTERS_KEY]: counts };
  mapped.report.dropped = mapped.report.dropped.filter((n) => !(n in counts));
}

/** Mapping step, Paddle → torch: an added `num_batches_tracked` takes the count the metadata kept. */
export function restoreBatchCounters(run: MappingRun): void {
  const table = run.source.meta[BATCH_COUNTERS_KEY];
  if (!table || typeof table !== "object" || Array.isArray(table)) return;
  run.items = run.items.map((item) => {
    const count = table[item.tensor.name];
    if (!item.added || typeof count !== "number" || !Number.isSafeInteger(count) || item.tensor.dtype !== "int64") return item;
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, BigInt(count), true);
    return {
      ...item,
      tensor: { ...item.tensor, data: bytesData(bytes) },
      transforms: [...item.transforms, `value ${count} from the source's ${BATCH_COUNTERS_KEY}`],
    };
  });
}
