import { joinName, type Structure } from "../../tensor/checkpoint.js";
import type { LayerHint, Tensor } from "../../tensor/tensor.js";
import { PickleDict, PickleObject, PickleSet, sequenceItems, type PickleValue } from "../../pickle/values.js";
import { flattenedLinears, inheritedAttributes, layerHint, simpleAttributes, withInherited, type ChildModule } from "./layers.js";
import { jsonOf, type WalkContext } from "./walk.js";
import { WalkGuard } from "../../pickle/walk.js";

/**
 * Whole-model pickles (`torch.save(model)`): the module classes are never imported. A pickled
 * nn.Module is a stub whose attributes hold `_parameters`, `_buffers` and `_modules`; walking
 * those the way `Module.state_dict()` does yields exactly its names and order.
 */

/** True for a stub that carries nn.Module's three registries. */
export function isModuleObject(value: PickleValue | undefined): value is PickleObject {
  if (!(value instanceof PickleObject) || !value.attrs) return false;
  return ["_parameters", "_buffers", "_modules"].every((k) => value.attrs!.get(k) instanceof PickleDict);
}

interface StateEntry {
  key: string;
  value: PickleValue;
  role: "parameter" | "buffer" | "module";
  hint: LayerHint | undefined;
}

/** (key, value) pairs of `module.state_dict()` relative to the module, depth-first like torch. */
export function moduleStateEntries(root: PickleObject, warnings: string[], rootName: string): StateEntry[] {
  const out: StateEntry[] = [];
  // Shared submodules are walked once per name, as state_dict() does; the guard bounds how often.
  const guard = new WalkGuard(root);
  const visit = (module: PickleObject, path: string, depth: number, inherited?: Record<string, unknown>) => {
    if (depth > 200 || !guard.enter(module)) {
      warnings.push(`${joinName(rootName, path) || "<root>"}: module nesting too deep or cyclic; not followed`);
      return;
    }
    const attrs = module.attrs!;
    const hint = withInherited(
      layerHint(module.module, module.name, path, simpleAttributes([...attrs].map(([k, v]) => [String(k), jsonOf(v, guard)]))),
      inherited,
    );
    const passed = inheritedAttributes(hint);
    const prefix = path === "" ? "" : `${path}.`;
    for (const [name, value] of attrs.get("_parameters") as PickleDict) {
      if (value !== null) out.push({ key: prefix + String(name), value, role: "parameter", hint });
    }
    const nonPersistent = stringSet(attrs.get("_non_persistent_buffers_set"));
    for (const [name, value] of attrs.get("_buffers") as PickleDict) {
      if (value !== null && !nonPersistent.has(String(name))) out.push({ key: prefix + String(name), value, role: "buffer", hint });
    }
    const children = [...(attrs.get("_modules") as PickleDict)];
    const flattened = flattenedLinears(
      childModule("", module),
      children.filter(([, c]) => isModuleObject(c)).map(([n, c]) => childModule(String(n), c as PickleObject)),
    );
    for (const [name, child] of children) {
      if (child === null) continue;
      const extra = flattened.get(String(name));
      if (isModuleObject(child)) visit(child, prefix + String(name), depth + 1, extra ? { ...passed, ...extra } : passed);
      else out.push({ key: prefix + String(name), value: child, role: "module", hint: undefined });
    }
    guard.leave(module);
  };
  visit(root, "", 0);
  return out;
}

function childModule(name: string, module: PickleObject): ChildModule {
  return { name, module: module.module, className: module.name, attributes: simpleAttributes([...module.attrs!].map(([k, v]) => [String(k), jsonOf(v)])) };
}

function stringSet(value: PickleValue | undefined): Set<string> {
  const items = value instanceof PickleSet ? value.items : (sequenceItems(value) ?? []);
  return new Set(items.filter((v): v is string => typeof v === "string"));
}

/**
 * A WalkContext.object hook: a module becomes an ordered dict of its state_dict entries (so a
 * whole model converts to its state dict), its tensors carrying the owning layer's hint.
 */
export function moduleHook(ctx: WalkContext, relativeNames: Map<Tensor, string>): NonNullable<WalkContext["object"]> {
  return (value, name, walk) => {
    if (!isModuleObject(value)) return undefined;
    const entries = moduleStateEntries(value, ctx.warnings, name).map(({ key, value: v, role, hint }) => {
      const count = ctx.tensors.length;
      const node = walk(v, joinName(name, key));
      if (role !== "module" && node.type === "tensor" && ctx.tensors.length === count + 1) {
        const tensor = ctx.tensors[count]!;
        tensor.role = role;
        relativeNames.set(tensor, key);
        if (hint) tensor.layer = { ...hint };
      } else if (role === "module") {
        ctx.warnings.push(`${joinName(name, key)}: child module of class ${describeClass(v)} is not an nn.Module pickle; read as plain data`);
      }
      return { key, value: node };
    });
    const structure: Structure = { type: "dict", ordered: true, entries };
    return structure;
  };
}

function describeClass(v: PickleValue): string {
  return v instanceof PickleObject ? v.qualifiedName : typeof v;
}

/**
 * Hints for state-dict tensors the same file also holds as a whole model (`{'model': model,
 * 'model_state_dict': model.state_dict()}`): a hint-less tensor whose name ends with a hinted
 * tensor's module-relative name and has its shape gets that hint.
 */
export function shareLayerHints(tensors: Tensor[], moduleRelative: Map<Tensor, string>): void {
  const byRelative = new Map<string, Tensor>();
  for (const [tensor, rel] of moduleRelative) if (tensor.layer && !byRelative.has(rel)) byRelative.set(rel, tensor);
  if (byRelative.size === 0) return;
  for (const t of tensors) {
    if (t.layer) continue;
    const parts = t.name.split(".");
    for (let i = 0; i < parts.length - 1; i++) {
      const source = byRelative.get(parts.slice(i).join("."));
      if (source && source.shape.join(",") === t.shape.join(",") && source.dtype === t.dtype) {
        t.layer = source.layer;
        break;
      }
    }
  }
}
