// A Bidirectional layer's backward_layer, when its config gives one. Keras' default backward
// layer is the wrapped layer's copy with go_backwards flipped; an explicit one that is exactly
// that (any name) computes the same, so it is read as the default. Anything else is another model.

type LayerConfig = { class_name?: unknown; config?: Record<string, unknown> } | undefined;

/** Options that change no computation: the layer's name, whether training may change it. */
const NOT_COMPUTED = new Set(["name", "trainable"]);

/**
 * Undefined when `backward` is the layer Keras would make from `forward` (or is absent); else the
 * first option that makes it differ, as `option=value`.
 */
export function backwardLayerDifference(forward: LayerConfig, backward: unknown): string | undefined {
  if (backward === undefined || backward === null) return undefined;
  const b = backward as LayerConfig;
  if (b?.class_name !== forward?.class_name) return `class ${JSON.stringify(b?.class_name ?? null)}`;
  const f = forward?.config ?? {};
  const g = b?.config ?? {};
  if ((g.go_backwards === true) === (f.go_backwards === true)) return `go_backwards=${g.go_backwards === true} (the same direction as the forward layer)`;
  for (const key of new Set([...Object.keys(f), ...Object.keys(g)])) {
    if (NOT_COMPUTED.has(key) || key === "go_backwards") continue;
    if (JSON.stringify(f[key] ?? null) !== JSON.stringify(g[key] ?? null)) return `${key}=${JSON.stringify(g[key] ?? null)}`;
  }
  return undefined;
}
