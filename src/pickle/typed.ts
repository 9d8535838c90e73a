/**
 * Typed records for the PyTorch and numpy objects weight files are made of. The unpickler builds
 * them from known constructors (./globals.ts) without calling anything; the pickler writes them
 * back the way torch.save and numpy's __reduce__ do.
 */
import type { DType } from "../tensor/dtype.js";
import type { LazyBytes, PickleValue } from "./values.js";
import { dtypeOfTypestr, typestrItemsize } from "../numpy/dtypes.js";

/** `torch.<X>Storage`, `torch.cuda.<X>Storage`, `torch.UntypedStorage` referenced as a class. */
export class TorchStorageType {
  constructor(
    readonly module: string,
    readonly name: string,
    /** IR dtype of the elements; undefined for UntypedStorage (bytes) and dtypes outside the IR. */
    readonly dtype: DType | undefined,
    /** Torch's own dtype name ("float32", "qint8", "complex32"); "untyped" for UntypedStorage. */
    readonly torchDtype: string,
  ) {}
  get untyped(): boolean {
    return this.torchDtype === "untyped";
  }
}

/** A storage record named by a zip/legacy/TorchScript persistent id `('storage', cls, key, location, numel)`. */
export class TorchStorageRef {
  constructor(
    readonly storageType: TorchStorageType,
    readonly key: string,
    readonly location: string,
    /** Elements of storageType's dtype (bytes for UntypedStorage) in the whole storage. */
    readonly numel: number,
    /** The persistent id tuple as read, so writers can reproduce it. */
    readonly pid: PickleValue,
  ) {}
}

/** A `torch.<dtype>` object such as `torch.float32`. */
export class TorchDtype {
  constructor(
    /** Torch's name: "float32", "bfloat16", "uint16", "qint8", "float8_e4m3fn" ... */
    readonly name: string,
    /** The IR dtype, when there is one. */
    readonly dtype: DType | undefined,
  ) {}
}

export class TorchDevice {
  constructor(
    readonly type: string,
    readonly index: number | null,
  ) {}
}

export type TensorRebuild = "_rebuild_tensor" | "_rebuild_tensor_v2" | "_rebuild_tensor_v3";

/**
 * A tensor as `torch._utils._rebuild_tensor*` describes it: a view (offset, shape, stride, all in
 * elements) onto a storage. `storage` is whatever persistentLoad returned (by default a
 * TorchStorageRef). Nothing is read; the format reader resolves the bytes.
 */
export class TorchTensorRef {
  /** BUILD state (old tensor __setstate__ or tensor subclass attributes), rarely present. */
  state: PickleValue | undefined = undefined;

  constructor(
    readonly storage: PickleValue,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
    readonly rebuild: TensorRebuild = "_rebuild_tensor_v2",
    /** Explicit dtype (`_rebuild_tensor_v3`); otherwise the storage class decides. */
    readonly dtype: TorchDtype | undefined = undefined,
    /** `backward_hooks` (an empty OrderedDict in every saved file). */
    readonly hooks: PickleValue = null,
    /** 2.x extra `metadata` dict (conj/neg bits), when written. */
    readonly metadata: PickleValue | undefined = undefined,
  ) {}

  /** The IR dtype: the explicit one, else the storage class's (when storage is a TorchStorageRef). */
  get irDType(): DType | undefined {
    if (this.dtype) return this.dtype.dtype;
    const s = this.storage as { storageType?: unknown };
    if (s && typeof s === "object" && s.storageType instanceof TorchStorageType) return s.storageType.dtype;
    return undefined;
  }
}

/** `torch._utils._rebuild_parameter(data, requires_grad, hooks[, state])`: an nn.Parameter. */
export class TorchParameter {
  constructor(
    readonly data: PickleValue,
    /** Mutable: pre-1.0 files set it by BUILD after construction. */
    public requiresGrad: boolean,
    readonly hooks: PickleValue = null,
    /** `_rebuild_parameter_with_state`'s extra Python attributes. */
    readonly state: PickleValue | undefined = undefined,
  ) {}
}

/** `numpy.dtype(typestr, align, copy)` with its BUILD state; only simple (non-structured) dtypes are modelled. */
export class NumpyDtype {
  /** `<`, `>`, `|` or `=` from the BUILD state (`|` until a state says otherwise). */
  byteorder = "|";
  /** The raw BUILD state, kept for structured dtypes the model does not interpret. */
  state: PickleValue | undefined = undefined;

  constructor(readonly typestr: string) {}

  /** Array-protocol descr such as `<f4`, `|b1`. Native order (`=`) is little-endian here. */
  get descr(): string {
    const order = this.byteorder === "=" ? "<" : this.byteorder;
    return `${order}${this.typestr}`;
  }

  get itemsize(): number | undefined {
    return typestrItemsize(this.typestr);
  }

  /** The IR dtype for simple numeric typestrs (`u2` is uint16: Paddle's bf16 carrier is left to the reader). */
  get irDType(): DType | undefined {
    return dtypeOfTypestr(this.typestr);
  }
}

/**
 * An ndarray as `numpy.core.multiarray._reconstruct` + BUILD state `(1, shape, dtype, fortran, data)`
 * leaves it. `data` holds the raw element bytes in the dtype's byte order (column-major when
 * `fortranOrder`); object arrays carry `objects` instead. With lazy unpickling, big `data` is a
 * LazyBytes: the byte range of the input that holds it, unread.
 */
export class NumpyArray {
  shape: number[] = [];
  dtype: NumpyDtype | undefined = undefined;
  fortranOrder = false;
  data: Uint8Array | LazyBytes | undefined = undefined;
  objects: PickleValue[] | undefined = undefined;
  /** True once a BUILD filled the array in. */
  built = false;

  /** The module the reconstruct function came from: `numpy.core.multiarray` or `numpy._core.multiarray`. */
  constructor(readonly module: string = "numpy.core.multiarray") {}
}

/** `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar such as np.float32(1.5). */
export class NumpyScalar {
  constructor(
    readonly dtype: NumpyDtype,
    readonly data: Uint8Array,
    readonly module: string = "numpy.core.multiarray",
  ) {}
}
