import type { GivenFile } from "./file-set.js";

/** Files from a file input; a folder pick (webkitdirectory) keeps each file's path inside the folder. */
export function filesOfInput(input: HTMLInputElement): GivenFile[] {
  return [...(input.files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** All entries of a dropped folder (readEntries hands them over in batches until an empty one). */
async function entriesOf(folder: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = folder.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

async function walk(entry: FileSystemEntry, prefix: string, out: GivenFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) out.push({ path, file: await entryFile(entry as FileSystemFileEntry) });
  else if (entry.isDirectory) for (const child of await entriesOf(entry as FileSystemDirectoryEntry)) await walk(child, path, out);
}

/** Dropped files and folders, folders walked with their relative paths. */
export async function filesOfDrop(data: DataTransfer): Promise<GivenFile[]> {
  const entries = [...data.items].map((item) => item.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...data.files].map((file) => ({ path: file.name, file }));
  const out: GivenFile[] = [];
  for (const entry of entries) await walk(entry, "", out);
  return out;
}
