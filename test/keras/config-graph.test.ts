import { describe, expect, it } from "vitest";
import { KerasConfigError, listLayers, readKerasModel } from "../../src/keras/config-graph.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";

// The one Keras config reader: each dialect and structure it follows, and the KerasConfigError
// (naming the layer) for what it cannot.

const dense = (name: string, inbound?: unknown) => ({ class_name: "Dense", name, config: { name, units: 2 }, ...(inbound ? { inbound_nodes: inbound } : {}) });
const input = (name: string, shape: Array<number | null>) => ({
  class_name: "InputLayer",
  name,
  config: { name, batch_input_shape: [null, ...shape] },
  inbound_nodes: [],
});
const calls = (config: JsonValue) => readKerasModel(config).calls.map((c) => `${c.id}=${c.layer.name}(${c.inputs.join(",")})`);

describe("readKerasModel", () => {
  it("reads a Keras 2.0 Sequential list without an InputLayer", () => {
    const model = readKerasModel({
      class_name: "Sequential",
      config: [{ class_name: "Dense", config: { name: "a", units: 2, batch_input_shape: [null, 3] } }, dense("b")],
    } as JsonValue);
    expect(model.inputs).toEqual([{ name: "a_input", shape: [null, 3], dtype: "float32" }]);
    expect(
      calls({
        class_name: "Sequential",
        config: [{ class_name: "Dense", config: { name: "a", units: 2, batch_input_shape: [null, 3] } }, dense("b")],
      } as JsonValue),
    ).toEqual(["a=a(a_input)", "b=b(a)"]);
    expect(model.outputs).toEqual(["b"]);
  });

  it("reads Keras 3's Sequential (batch_shape) and __keras_tensor__ histories with keyword tensors", () => {
    const kt = (layer: string, node = 0) => ({
      class_name: "__keras_tensor__",
      config: { shape: [null, 4], dtype: "float32", keras_history: [layer, node, 0] },
    });
    const config = {
      class_name: "Functional",
      config: {
        name: "m",
        layers: [
          { class_name: "InputLayer", name: "q", config: { name: "q", batch_shape: [null, 3, 4] }, inbound_nodes: [] },
          { class_name: "InputLayer", name: "v", config: { name: "v", batch_shape: [null, 5, 4] }, inbound_nodes: [] },
          {
            class_name: "MultiHeadAttention",
            name: "mha",
            config: { name: "mha" },
            inbound_nodes: [{ args: [kt("q")], kwargs: { value: kt("v"), training: false } }],
          },
          { class_name: "Add", name: "add", config: { name: "add" }, inbound_nodes: [{ args: [[kt("mha"), kt("q")]], kwargs: {} }] },
        ],
        input_layers: [
          ["q", 0, 0],
          ["v", 0, 0],
        ],
        output_layers: ["add", 0, 0],
      },
    } as JsonValue;
    const model = readKerasModel(config);
    expect(model.inputs.map((i) => [i.name, i.shape])).toEqual([
      ["q", [null, 3, 4]],
      ["v", [null, 5, 4]],
    ]);
    expect(model.calls[0]!.keywordInputs).toEqual({ value: "v" });
    expect(model.calls[0]!.keywords).toEqual({ training: false });
    expect(calls(config)).toEqual(["mha=mha(q)", "add=add(mha,q)"]);
    expect(model.outputs).toEqual(["add"]);
  });

  it("calls a shared layer once per inbound node, in the order its inputs allow", () => {
    const config = {
      class_name: "Model",
      config: {
        name: "m",
        layers: [input("x", [2]), dense("shared", [[["x", 0, 0, {}]], [["late", 0, 0, {}]]]), dense("late", [[["shared", 0, 0, {}]]])],
        input_layers: [["x", 0, 0]],
        output_layers: [["shared", 1, 0]],
      },
    } as JsonValue;
    expect(calls(config)).toEqual(["shared=shared(x)", "late=late(shared)", "shared_1=shared(late)"]);
    expect(readKerasModel(config).outputs).toEqual(["shared_1"]);
  });

  it("inlines a nested model called twice (references one past its own first node, as Keras writes them)", () => {
    const inner = {
      class_name: "Functional",
      name: "sub",
      config: { name: "sub", layers: [input("i", [2]), dense("d", [[["i", 0, 0, {}]]])], input_layers: [["i", 0, 0]], output_layers: [["d", 0, 0]] },
    };
    const config = {
      class_name: "Functional",
      config: {
        name: "m",
        layers: [
          input("a", [2]),
          input("b", [2]),
          { ...inner, inbound_nodes: [[["a", 0, 0, {}]], [["b", 0, 0, {}]]] },
          {
            class_name: "Concatenate",
            name: "c",
            config: { name: "c" },
            inbound_nodes: [
              [
                ["sub", 1, 0, {}],
                ["sub", 2, 0, {}],
              ],
            ],
          },
        ],
        input_layers: [
          ["a", 0, 0],
          ["b", 0, 0],
        ],
        output_layers: [["c", 0, 0]],
      },
    } as JsonValue;
    expect(calls(config)).toEqual(["d=d(a)", "d_1=d(b)", "c=c(d,d_1)"]);
  });

  it("reads keras_metadata.pb's __tuple__ spelling", () => {
    const config = {
      class_name: "Sequential",
      config: {
        name: "s",
        layers: [{ class_name: "InputLayer", config: { name: "in", batch_input_shape: { class_name: "__tuple__", items: [null, 7] } } }, dense("d")],
      },
    } as JsonValue;
    expect(readKerasModel(config).inputs[0]!.shape).toEqual([null, 7]);
  });

  const refuses = (config: JsonValue, message: RegExp, layer?: string) => {
    let error: unknown;
    try {
      readKerasModel(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KerasConfigError);
    expect((error as Error).message).toMatch(message);
    if (layer) expect((error as KerasConfigError).layer).toBe(layer);
  };

  it("refuses what it cannot follow, naming the layer", () => {
    refuses(undefined, /no Keras model config/);
    refuses({ class_name: "MyModel", config: {} } as JsonValue, /subclassed MyModel/);
    refuses({ class_name: "Sequential", config: { layers: [dense("d")] } } as JsonValue, /states no input shape \(layer d/, "d");
    refuses(
      {
        class_name: "Functional",
        config: { name: "m", layers: [input("x", [2]), dense("d", [[["ghost", 0, 0, {}]]])], input_layers: [["x", 0, 0]], output_layers: [["d", 0, 0]] },
      } as JsonValue,
      /layer d takes ghost/,
      "d",
    );
    refuses(
      { class_name: "Functional", config: { name: "m", layers: [input("x", [2])], input_layers: [["x", 0, 0]], output_layers: [] } } as JsonValue,
      /names no outputs/,
    );
  });
});

describe("listLayers", () => {
  // A config the call graph refuses (a Sequential stating no input shape, a layer without a name,
  // an input it never computes) is still listed: layer hints and summaries need only the entries.
  const nested = {
    class_name: "Sequential",
    config: { name: "inner", layers: [{ class_name: "Dense", config: { units: 2 } }, "junk", { class_name: "Dropout" }] },
    inbound_nodes: [[["missing", 0, 0, {}]]],
  };
  const model = {
    class_name: "Functional",
    config: { name: "m", layers: [input("x", [2]), nested, { class_name: "Sequential", config: [dense("bare")] }], output_layers: [] },
  } as JsonValue;
  const listing = (options?: { nested?: boolean }) =>
    [...listLayers(model, options)].map(
      (l) => `${l.parent ? `${String(l.parent.config.name)}/` : ""}${l.className}:${String(l.config.name)}${l.hasInboundNodes ? "*" : ""}`,
    );

  it("lists every entry, nested models' right after them, without throwing on what only the graph needs", () => {
    expect(() => readKerasModel(model)).toThrow(KerasConfigError);
    expect(listing()).toEqual(["InputLayer:x*", "Sequential:inner*", "inner/Dense:undefined", "Sequential:undefined", "undefined/Dense:bare"]);
  });

  it("lists the top level only when asked", () => {
    expect(listing({ nested: false })).toEqual(["InputLayer:x*", "Sequential:inner*", "Sequential:undefined"]);
    expect([...listLayers(undefined)]).toEqual([]);
  });
});
