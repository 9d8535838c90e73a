import { describe, expect, it } from "vitest";
import { flattenFindings } from "../../src/keras/flatten-evidence.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";

// Flatten evidence follows readKerasModel's call graph: the channels a Flatten flattened reach
// the Dense that reads it across Keras 3 histories and nested models, an unknown layer in
// between is named, and a config the reader cannot follow gives no findings.

const layer = (className: string, name: string, config: Record<string, JsonValue> = {}) => ({ class_name: className, config: { name, ...config } });
const kt = (name: string) => ({ class_name: "__keras_tensor__", config: { shape: [null], dtype: "float32", keras_history: [name, 0, 0] } });
const called = (entry: Record<string, JsonValue>, from: string) => ({ ...entry, inbound_nodes: [{ args: [kt(from)], kwargs: {} }] });

describe("flattenFindings", () => {
  it("follows a Keras 3 Functional model: Conv2D(8) → MaxPooling2D → Flatten → Dense", () => {
    const config = {
      class_name: "Functional",
      config: {
        name: "m",
        layers: [
          { class_name: "InputLayer", config: { name: "x", batch_shape: [null, 6, 6, 3] }, inbound_nodes: [] },
          called(layer("Conv2D", "conv", { filters: 8 }), "x"),
          called(layer("MaxPooling2D", "pool"), "conv"),
          called(layer("Flatten", "flat"), "pool"),
          called(layer("Dense", "fc", { units: 4 }), "flat"),
        ],
        input_layers: [["x", 0, 0]],
        output_layers: [["fc", 0, 0]],
      },
    } as JsonValue;
    expect([...flattenFindings(config)]).toEqual([["fc", { channels: 8 }]]);
  });

  it("sees a map made outside a nested Sequential that flattens it, and names an unknown layer in between", () => {
    const nested = (between: Array<Record<string, JsonValue>>) =>
      ({
        class_name: "Sequential",
        config: {
          name: "outer",
          layers: [
            layer("Conv2D", "conv", { filters: 5, batch_input_shape: [null, 4, 4, 1] }),
            { class_name: "Sequential", config: { name: "head", layers: [...between, layer("Flatten", "flat"), layer("Dense", "fc", { units: 2 })] } },
          ],
        },
      }) as JsonValue;
    expect([...flattenFindings(nested([layer("Dropout", "drop")]))]).toEqual([["fc", { channels: 5 }]]);
    expect([...flattenFindings(nested([layer("MyLayer", "mine")]))]).toEqual([["fc", { blockedBy: "mine (MyLayer)" }]]);
  });

  it("gives no findings for a config the reader cannot follow", () => {
    expect(flattenFindings({ class_name: "MyModel", config: {} } as JsonValue).size).toBe(0);
    expect(flattenFindings(undefined).size).toBe(0);
  });
});
