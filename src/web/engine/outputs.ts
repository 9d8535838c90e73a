import type { ByteSink } from "../../io/sink.js";
import { ZipWriter } from "../../io/zip-write.js";
import { WeightbridgeError } from "../../errors.js";
import { blobSink, writableSink } from "./sinks.js";

/** Where a conversion's files go, chosen before the work starts (the pickers need the click). */
export interface OutputTarget {
  /** Says on the page how the output is saved. */
  readonly how: string;
  /** The library's openSink: one sink per output file, by its path (`name`, `name.data`, `folder/variables/...`). */
  openSink(path: string): Promise<ByteSink>;
  /** Once every sink committed: starts the download (fallback); returns what was written, by path, for reading back. */
  finish(): Promise<Map<string, Blob>>;
}

type SavePicker = (options: { suggestedName?: string }) => Promise<FileSystemFileHandle>;
type FolderPicker = (options?: { mode?: "read" | "readwrite" }) => Promise<FileSystemDirectoryHandle>;
const pickers = () => window as unknown as { showSaveFilePicker?: SavePicker; showDirectoryPicker?: FolderPicker };

export function canSaveFiles(): boolean {
  return typeof pickers().showSaveFilePicker === "function";
}
export function canSaveFolders(): boolean {
  return typeof pickers().showDirectoryPicker === "function";
}

/** A picker closed without choosing: not an error worth a line, the conversion just does not start. */
export function isCancel(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

/** One file through showSaveFilePicker; a second file (a side file) cannot be asked for then. */
async function savedFile(name: string): Promise<OutputTarget> {
  const handle = await pickers().showSaveFilePicker!({ suggestedName: name });
  let opened = false;
  return {
    how: `saved as ${handle.name} through the browser's file system access`,
    async openSink(path) {
      if (opened)
        throw new WeightbridgeError("unsupported", `this output needs a second file (${path}); convert it to a folder output instead`, { file: name });
      opened = true;
      return writableSink(handle, handle.name);
    },
    async finish() {
      return new Map([[name, await handle.getFile()]]);
    },
  };
}

async function folderHandleFor(root: FileSystemDirectoryHandle, parts: string[]): Promise<FileSystemDirectoryHandle> {
  let folder = root;
  for (const part of parts) folder = await folder.getDirectoryHandle(part, { create: true });
  return folder;
}

/** Several files (or a folder output) into a folder chosen with showDirectoryPicker. */
async function savedFolder(): Promise<OutputTarget> {
  const root = await pickers().showDirectoryPicker!({ mode: "readwrite" });
  const written = new Map<string, FileSystemFileHandle>();
  return {
    how: `saved into the folder ${root.name} through the browser's file system access`,
    async openSink(path) {
      const parts = path.split("/").filter((p) => p !== "" && p !== ".");
      const name = parts.pop()!;
      const folder = await folderHandleFor(root, parts);
      const handle = await folder.getFileHandle(name, { create: true });
      written.set(parts.concat(name).join("/"), handle);
      return writableSink(handle, `${root.name}/${path}`, () => folder.removeEntry(name));
    },
    async finish() {
      const out = new Map<string, Blob>();
      for (const [path, handle] of written) out.set(path, await handle.getFile());
      return out;
    },
  };
}

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Without the File System Access API: the files are collected as Blobs, then downloaded (several: as one zip). */
function downloaded(name: string): OutputTarget {
  const blobs = new Map<string, Blob>();
  return {
    how: "downloaded: this browser has no file system access, so the output is collected as a Blob first (it must fit in the browser's memory or Blob storage)",
    async openSink(path) {
      const key = path
        .split("/")
        .filter((p) => p !== "" && p !== ".")
        .join("/");
      return blobSink(key, (blob) => blobs.set(key, blob));
    },
    async finish() {
      if (blobs.size === 1) {
        const [[path, blob]] = [...blobs];
        download(blob, path.split("/").pop()!);
      } else download(await zipOf(blobs), `${name.replace(/\.[A-Za-z0-9]+$/, "")}.zip`);
      return blobs;
    },
  };
}

/** The files as one stored (uncompressed) zip, read from their Blobs in pieces. */
async function zipOf(files: Map<string, Blob>): Promise<Blob> {
  let zipped: Blob | undefined;
  const sink = blobSink("output.zip", (blob) => (zipped = blob));
  const zip = new ZipWriter(sink, { alignment: 0, alwaysZip64End: false });
  for (const [path, blob] of files) await zip.add(path, blob.size, pieces(blob));
  await zip.finish();
  await sink.commit();
  return zipped!;
}

async function* pieces(blob: Blob): AsyncIterable<Uint8Array> {
  const step = 8 << 20;
  for (let at = 0; at < blob.size; at += step) yield new Uint8Array(await blob.slice(at, at + step).arrayBuffer());
}

/**
 * Asks where the output goes (must run inside the click). `name` is the output's file name, or
 * its folder's for a folder format; `several` when the format writes more than one file.
 */
export async function chooseOutput(name: string, several: boolean): Promise<OutputTarget> {
  if (several && canSaveFolders()) return savedFolder();
  if (!several && canSaveFiles()) return savedFile(name);
  return downloaded(name);
}
