/**
 * BUILD (`obj.__setstate__(state)` or `obj.__dict__.update(state)`) applied to inert values:
 * numpy arrays and dtypes take their documented state tuples, stubs record attributes, a
 * state dict's `_metadata` lands in PickleDict.attributes.
 */
import { arrayDataArg, type BuildContext } from "./globals.js";
import { NumpyArray, NumpyDtype, TorchParameter, TorchTensorRef } from "./typed.js";
import { PickleDict, PickleGlobal, PickleObject, describeValue, intOf, sequenceItems, type PickleValue } from "./values.js";

function mergeInto(target: PickleDict, source: PickleDict, ctx: BuildContext): void {
  ctx.charge(source.size);
  for (const [k, v] of source) target.set(k, v);
}

/** A BUILD state as attributes: a dict, or CPython's `(dict | None, slots dict | None)` pair. */
function stateAttributes(state: PickleValue): PickleDict[] | undefined {
  if (state instanceof PickleDict) return [state];
  const pair = sequenceItems(state);
  if (pair && pair.length === 2 && pair.every((x) => x === null || x instanceof PickleDict)) {
    return pair.filter((x): x is PickleDict => x instanceof PickleDict);
  }
  return undefined;
}

function buildObject(obj: PickleObject, state: PickleValue, ctx: BuildContext): void {
  obj.state = state;
  const dicts = stateAttributes(state);
  // Without a dict state CPython hands the state to the class's own __setstate__: code it would run.
  if (!dicts) return ctx.flag(obj, "BUILD passes its object a state only the class's __setstate__ could take");
  obj.attrs ??= new PickleDict(undefined, false);
  for (const d of dicts) mergeInto(obj.attrs, d, ctx);
}

function buildArray(a: NumpyArray, state: PickleValue, ctx: BuildContext): void {
  const items = sequenceItems(state);
  // (version, shape, dtype, is_fortran, data); version 0 pickles omit the version.
  const fields = items?.length === 5 ? items.slice(1) : items?.length === 4 ? items : undefined;
  if (!fields) ctx.fail("corrupt", `numpy array state must be a 4- or 5-tuple, pickle passes ${describeValue(state)}`);
  const [shape, dtype, fortran, data] = fields as [PickleValue, PickleValue, PickleValue, PickleValue];
  const dims = sequenceItems(shape);
  if (!dims) ctx.fail("corrupt", "numpy array state has no shape tuple");
  ctx.charge(dims.length);
  a.shape = dims.map((d) => {
    const n = intOf(d);
    if (n === undefined || n < 0) ctx.fail("corrupt", `numpy array shape has a bad dimension (${describeValue(d)})`);
    return n;
  });
  if (!(dtype instanceof NumpyDtype)) ctx.fail("corrupt", `numpy array state has no dtype (${describeValue(dtype)})`);
  a.dtype = dtype;
  a.fortranOrder = fortran === true || intOf(fortran) === 1;
  if (Array.isArray(data)) a.objects = data;
  else a.data = arrayDataArg(data, ctx, "numpy array data");
  a.built = true;
}

function buildDtype(d: NumpyDtype, state: PickleValue, ctx: BuildContext): void {
  d.state = state;
  const items = sequenceItems(state);
  if (!items || items.length < 2) ctx.fail("corrupt", `numpy dtype state must be a tuple, pickle passes ${describeValue(state)}`);
  if (typeof items[1] === "string") d.byteorder = items[1];
}

export function applyBuild(target: PickleValue, state: PickleValue, ctx: BuildContext): void {
  if (target instanceof PickleObject) return buildObject(target, state, ctx);
  // BUILD on a class or function sets attributes of something shared by the whole process
  // (how a pickle monkey-patches torch._utils): nothing a model file needs.
  if (target instanceof PickleGlobal) return ctx.flag(target, "BUILD sets attributes on it");
  if (target instanceof NumpyArray) return buildArray(target, state, ctx);
  if (target instanceof NumpyDtype) return buildDtype(target, state, ctx);
  if (target instanceof TorchTensorRef) {
    target.state = state;
    return;
  }
  if (target instanceof TorchParameter) {
    // Pre-1.0 state (requires_grad, volatile, hooks); later __setstate__ re-applies what the rebuild already gave.
    const first = sequenceItems(state)?.[0];
    if (typeof first === "boolean") target.requiresGrad = first;
    return;
  }
  if (target instanceof PickleDict) {
    const dicts = stateAttributes(state);
    if (!dicts) ctx.fail("corrupt", `BUILD on a dict with a ${describeValue(state)} state`);
    target.attributes ??= new PickleDict(undefined, false);
    for (const d of dicts) mergeInto(target.attributes, d, ctx);
    return;
  }
  ctx.fail("corrupt", `BUILD on a ${describeValue(target)}`);
}
