import type { JsonValue } from "../../tensor/checkpoint.js";
import { listLayers, type ListedLayer } from "../../keras/config-graph.js";
import { snakeCase } from "./layer-hints.js";

// Keras 3 (and tf.keras >= 2.13's `.keras`) files store each layer's weights under an object path
// made from its class, not its name: a model's layer list is saved in order, each layer as
// `layers/<snake_case class>`, then `_1`, `_2` ... for further layers of the same class
// (keras/src/saving/saving_lib.py, `_save_container_state`). Files written before Keras 3.6 carry no
// `name` attribute beside the variables, so the config's layer a path belongs to is found by
// replaying that rule over the config's layer lists.

/** The containers a model's layer list is saved under (`_layer_checkpoint_dependencies` by tf.keras 2.13). */
const CONTAINERS = ["layers", "_layer_checkpoint_dependencies"];

/**
 * The object path of the layer owning the variables at `objectPath`: the path itself for a layer's
 * own variables, the layer above for a sub-object's (`layers/lstm/cell` → `layers/lstm`,
 * `layers/bidirectional/forward_layer/cell` → `layers/bidirectional`).
 */
export function owningLayerPath(objectPath: string): string {
  const segments = objectPath.split("/");
  for (let i = segments.length - 1; i >= 1; i--) if (CONTAINERS.includes(segments[i - 1]!)) return segments.slice(0, i + 1).join("/");
  return objectPath;
}

export interface PathLayer {
  name: string;
  className: string;
  config: Record<string, JsonValue>;
}

/** Config layers by the object path Keras saved their weights under (`layers/dense_1`, `layers/functional/layers/conv2d`). */
export function layersByObjectPath(modelConfig: JsonValue | undefined): Map<string, PathLayer> {
  const out = new Map<string, PathLayer>();
  const pathOf = new Map<ListedLayer, string[]>();
  const used = new Map<string, Map<string, number>>();
  for (const listed of listLayers(modelConfig)) {
    const parents = listed.parent ? pathOf.get(listed.parent) : [""];
    if (!parents) continue;
    const scope = parents.join("|");
    const counts = used.get(scope) ?? new Map<string, number>();
    used.set(scope, counts);
    const snake = snakeCase(listed.className);
    const seen = counts.get(snake);
    counts.set(snake, seen === undefined ? 0 : seen + 1);
    const own = seen === undefined ? snake : `${snake}_${seen + 1}`;
    const paths = parents.flatMap((parent) => CONTAINERS.map((container) => `${parent === "" ? "" : `${parent}/`}${container}/${own}`));
    pathOf.set(listed, paths);
    const name = listed.config.name;
    if (typeof name !== "string") continue;
    for (const path of paths) out.set(path, { name, className: listed.className, config: listed.config });
  }
  return out;
}
