import { describe, expect, it, vi } from "vitest";
import { withLookahead } from "../../src/kernels/lookahead.js";
import { makeTensor, type Tensor, type TensorData } from "../../src/tensor/tensor.js";
import { nameKeys } from "../../src/formats/tensorflow/object-graph.js";
import type { ObjectGraph } from "../../src/formats/tensorflow/protos.js";
import { inspectionText } from "../../src/cli/inspect-table.js";

// Mixture-of-experts checkpoints hold ~10^5 tensors: work per tensor must stay constant. These
// count the work done (property reads, map lookups), never the time it takes.

const N = 100_000;

describe("withLookahead is linear in the tensor count", () => {
  it("looks at each tensor's data a constant number of times, in order and in a pickler's order", async () => {
    let looks = 0;
    let prefetches = 0;
    const bytes = new Uint8Array(4);
    const counted = (prefetchable: boolean): TensorData => {
      const data: TensorData = {
        byteLength: 4,
        read: async () => bytes,
        async *chunks() {
          yield bytes;
        },
      };
      if (prefetchable) data.prefetch = () => void prefetches++;
      return new Proxy(data, {
        get(target, key, receiver) {
          if (key === "prefetch") looks++;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
    };
    // Only a few tensors early in the list can prefetch (safetensors data cannot): the old code
    // walked the rest of the list for every tensor read after them.
    const tensors: Tensor[] = Array.from({ length: N }, (_, i) => makeTensor(`t${i}`, "float32", [1], counted(i % 1000 === 999 && i < N / 2)));
    const wrapped = withLookahead(tensors, false);
    // A pickler reads the small tensors first, then streams the rest in order.
    for (let i = 0; i < N; i += 2) await wrapped[i]!.data.read();
    for (let i = 1; i < N; i += 2) await wrapped[i]!.data.read();
    expect(looks).toBeLessThan(4 * N);
    expect(prefetches).toBeLessThanOrEqual(N / 2000);
    expect(prefetches).toBeGreaterThan(0);
  });
});

describe("TF object graph naming is linear in its keys", () => {
  /** A chain of `depth` nested objects under the root, each owning a variable, all with one full name. */
  function chain(depth: number): ObjectGraph {
    const nodes: ObjectGraph["nodes"] = [{ children: [{ node_id: 1, local_name: "model" }], attributes: [], slot_variables: [] }];
    for (let i = 1; i <= depth; i++) {
      nodes.push({
        children: i < depth ? [{ node_id: i + 1, local_name: `layer${i}` }] : [],
        attributes: [{ name: "VARIABLE_VALUE", full_name: "dense/kernel", checkpoint_key: `k${i}/.ATTRIBUTES/VARIABLE_VALUE` }],
        slot_variables: [],
      });
    }
    return { nodes };
  }

  it("20,000 keys on a 20,000-deep chain, all named alike: map lookups grow linearly, every key keeps its path", () => {
    const depth = 20_000;
    const get = vi.spyOn(Map.prototype, "get");
    try {
      const named = nameKeys(chain(depth));
      expect(get.mock.calls.length).toBeLessThan(20 * depth);
      expect(named.byKey.size).toBe(depth);
      // One name for all: each keeps its object path (the duplicate rule).
      expect(named.byKey.get("k7/.ATTRIBUTES/VARIABLE_VALUE")!.name).toBe("k7");
    } finally {
      get.mockRestore();
    }
  });
});

describe("inspect's table and tree take any number of tensors", () => {
  it("200,000 rows (the widths were a spread into Math.max) and a name of 100,000 parts", () => {
    const tensors = Array.from({ length: 200_000 }, (_, i) => ({ name: `experts.${i}.w`, dtype: "float32" as const, shape: [2], bytes: 8 }));
    const table = inspectionText({ format: "safetensors", tensors, meta: {}, warnings: [] } as never, tensors, { tree: false, filtered: false });
    expect(table.length).toBeGreaterThan(200_000);
    const deep = [{ name: Array.from({ length: 100_000 }, () => "a").join("."), dtype: "float32" as const, shape: [1], bytes: 4 }];
    const tree = inspectionText({ format: "safetensors", tensors: deep, meta: {}, warnings: [] } as never, deep, { tree: true, filtered: false });
    expect(tree.length).toBeLessThan(100);
  });
});
