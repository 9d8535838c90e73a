/** The parts of h5wasm's Emscripten module we use (its own typings leave FS loosely typed). */
export interface EmscriptenFsNode {
  contents: unknown;
  usedBytes: number;
  stream_ops: Record<string, unknown>;
  node_ops: Record<string, unknown>;
}
interface EmscriptenFs {
  mkdirTree(path: string): void;
  createFile(parent: string, name: string, properties: object, canRead: boolean, canWrite: boolean): EmscriptenFsNode;
  lookupPath(path: string): { node: EmscriptenFsNode };
  unlink(path: string): void;
  analyzePath(path: string): { exists: boolean };
  ErrnoError: new (errno: number) => Error;
}
export interface H5Module {
  FS: EmscriptenFs;
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  MAXIMUM_MEMORY?: number;
  activate_throwing_error_handler(): number;
  get_dataset_data(fileId: bigint, path: string, count: bigint[] | null, offset: bigint[] | null, strides: bigint[] | null, ptr: bigint): number;
  create_dataset(fileId: bigint, path: string, ptr: bigint, metadata: object): number;
}
