/**
 * weightbridge's pickle support: a safe unpickler that builds inert values and never imports or
 * calls anything, and a pickler that writes the same value model the way CPython/torch/numpy do.
 *
 *   const value = unpickle(bytes, { name: "model.pt:archive/data.pkl" });   // throws 'unsafe-pickle' on os.system & co.
 *   const { dangerous } = scanPickle(bytes);                               // what a pickle would call
 *   const out = pickle(orderedDict([["w", torchTensor(torchStorage("float32", "0", 6), [2, 3], [3, 1])]]));
 *
 * Value model (./values.ts, ./typed.ts): None → null, int → number | bigint, float → number
 * (PyFloat with preserveFloats), str → string, bytes → Uint8Array (a view into the input), list →
 * array, tuple → PickleTuple, dict/OrderedDict → PickleDict (a Map keeping Python key types),
 * set → PickleSet, and with `lazyBytesOver` big bytes → LazyBytes (an unread range of the input). Known constructors give TorchTensorRef, TorchParameter, TorchStorageRef,
 * TorchDtype, TorchDevice, NumpyArray, NumpyDtype, NumpyScalar; `torch.Size` gives a tuple;
 * everything else a PickleObject stub (module, name, args, state, attrs).
 */
export {
  unpickle,
  unpickleDetailed,
  defaultPersistentLoad,
  type UnpickleOptions,
  type UnpickleResult,
  type GlobalRef,
  type GlobalStatus,
  type PickleAnomaly,
} from "./unpickle.js";
export { bytesInput, pickleInputOf, sourceInput, type PickleInput } from "./input.js";
export { scanPickle, type PickleScan } from "./scan.js";
export { pickle, pickleChunks, pickleChunksPausing, picklePausingTo, type PickleOptions } from "./pickle.js";
export {
  tuple,
  dict,
  orderedDict,
  globalRef,
  callGlobal,
  torchStorage,
  torchStorageType,
  torchDtype,
  torchTensor,
  numpyDtype,
  numpyArray,
} from "./make.js";
export {
  PickleTuple,
  PickleDict,
  DictStream,
  PickleSet,
  PickleGlobal,
  PickleObject,
  PersistentRef,
  PyFloat,
  PyByteArray,
  PyComplex,
  LazyBytes,
  LazyText,
  isTuple,
  isDict,
  sequenceItems,
  dictOf,
  intOf,
  describeValue,
  type PickleValue,
  type ObjectOrigin,
} from "./values.js";
export {
  TorchStorageType,
  TorchStorageRef,
  TorchTensorRef,
  TorchParameter,
  TorchDtype,
  TorchDevice,
  NumpyArray,
  NumpyDtype,
  NumpyScalar,
  type TensorRebuild,
} from "./typed.js";
export { childValues, nestingDepth, WalkGuard } from "./walk.js";
export { isDangerousGlobal, storageClassForDType, torchDtypeToIR } from "./global-names.js";
export { Latin1FromUtf8 } from "./strings.js";
