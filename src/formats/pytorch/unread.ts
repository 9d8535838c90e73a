import { joinName, type SkippedTensor } from "../../tensor/checkpoint.js";
import { PickleDict, PickleObject, PickleSet, PickleTuple, type PickleValue } from "../../pickle/values.js";
import { NumpyArray, TorchParameter, TorchStorageRef, TorchTensorRef } from "../../pickle/typed.js";
import { isModuleObject } from "./modules.js";

// The walker reads tensors where torch.load would hand them to a state dict: containers, module
// registries, dict and list subclasses. A tensor elsewhere (the state of an object of an unknown
// class, a set, a plain attribute of a module) is not read; this finds each such one, so that a
// conversion lists it as dropped instead of losing it without a record.

const MAX_DEPTH = 500;
const META_TENSOR = "torch._utils._rebuild_meta_tensor_no_storage";

// Not a type guard: an object that is no module stub is still a PickleObject.
const isModule: (v: PickleValue) => boolean = isModuleObject;

const isTensorValue = (v: unknown): v is TorchTensorRef | TorchParameter | NumpyArray =>
  v instanceof TorchTensorRef || v instanceof TorchParameter || v instanceof NumpyArray;

interface Place {
  value: PickleValue;
  name: string;
  /** The nearest enclosing object of a class the walker does not read (its qualified name). */
  owner: string | undefined;
  /** Set under a module stub's plain attributes or non-persistent buffers: outside its state_dict. */
  outsideState: string | undefined;
  depth: number;
}

/** Tensors `root` holds that are not among `read` (the values the walker turned into tensors). */
export function unreadTensors(root: PickleValue, read: ReadonlySet<object>): SkippedTensor[] {
  const out: SkippedTensor[] = [];
  const visited = new Set<object>();
  const stack: Place[] = [{ value: root, name: "", owner: undefined, outsideState: undefined, depth: 0 }];
  while (stack.length > 0) {
    const place = stack.pop()!;
    const { value, depth } = place;
    if (value === null || typeof value !== "object" || visited.has(value) || value instanceof Uint8Array) continue;
    visited.add(value);
    if (isTensorValue(value)) {
      const inner = value instanceof TorchParameter ? value.data : value;
      if (!read.has(value) && !read.has(inner as object)) out.push(skippedTensor(place, inner));
      continue;
    }
    if (value instanceof PickleObject && value.qualifiedName === META_TENSOR) {
      // torch.save of a device='meta' tensor: a shape and dtype without values, so nothing to lose but the entry.
      out.push({ name: place.name || "<root>", why: "a meta tensor (a shape without values)", nonWeight: "holds no values" });
      continue;
    }
    if (depth > MAX_DEPTH) {
      out.push({ name: place.name || "<root>", why: `nesting deeper than ${MAX_DEPTH} levels, not read` });
      continue;
    }
    const children = childrenOf(place);
    // Reversed so the stack pops children in order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

function skippedTensor(place: Place, tensor: PickleValue): SkippedTensor {
  const name = place.name || "<root>";
  if (place.outsideState) return { name, why: place.outsideState, nonWeight: "not in its module's state_dict" };
  if (tensor instanceof TorchTensorRef && !(tensor.storage instanceof TorchStorageRef))
    return { name, why: "a tensor without stored data (meta or device tensor)" };
  return { name, why: place.owner ? `held by a pickled ${place.owner} object, which is not read` : "in a container that is not read (a set)" };
}

function childrenOf(place: Place): Place[] {
  const { value, name, depth } = place;
  const at = (v: PickleValue, key: string | number, extra: Partial<Place> = {}): Place => ({
    ...place,
    value: v,
    name: joinName(name, key),
    depth: depth + 1,
    ...extra,
  });
  if (value instanceof PickleDict) return [...value.entries()].map(([k, v]) => at(v, typeof k === "number" ? k : String(k)));
  if (Array.isArray(value)) return value.map((v, i) => at(v, i));
  if (value instanceof PickleTuple || value instanceof PickleSet) return value.items.map((v, i) => at(v, i));
  if (!(value instanceof PickleObject)) return [];
  if (isModule(value)) return moduleChildren(value, at);
  // dict and list subclasses' items are read like dicts' and lists'; anything else about the object is not.
  const out: Place[] = [];
  for (const [k, v] of value.dictItems ?? []) out.push(at(v, String(k)));
  for (const [i, v] of (value.listItems ?? []).entries()) out.push(at(v, i));
  const owned = { owner: value.qualifiedName };
  for (const [k, v] of value.attrs ?? []) out.push(at(v, String(k), owned));
  if (value.state !== undefined && !(value.state instanceof PickleDict)) out.push(at(value.state, "state", owned));
  for (const [i, v] of value.args.entries()) out.push(at(v, `args.${i}`, owned));
  for (const [k, v] of value.kwargs ?? []) out.push(at(v, String(k), owned));
  return out;
}

/** A module's parameters and persistent buffers are read; its other tensors are outside its state_dict. */
function moduleChildren(module: PickleObject, at: (v: PickleValue, key: string | number, extra?: Partial<Place>) => Place): Place[] {
  const attrs = module.attrs!;
  const nonPersistent = attrs.get("_non_persistent_buffers_set");
  const skippedBuffers = new Set((nonPersistent instanceof PickleSet ? nonPersistent.items : []).filter((v): v is string => typeof v === "string"));
  const out: Place[] = [];
  for (const [k, v] of attrs) {
    const key = String(k);
    if (key === "_parameters" || key === "_modules") for (const [n, c] of v as PickleDict) out.push(at(c, String(n)));
    else if (key === "_buffers") {
      for (const [n, c] of v as PickleDict) {
        const outside = skippedBuffers.has(String(n)) ? `a non-persistent buffer of ${module.qualifiedName}` : undefined;
        out.push(at(c, String(n), outside ? { outsideState: outside } : {}));
      }
    } else out.push(at(v, key, { outsideState: `a plain attribute of ${module.qualifiedName} (not a parameter or buffer)` }));
  }
  return out;
}
