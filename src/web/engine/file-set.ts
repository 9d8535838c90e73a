import { blobSource, type ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";
import { withBlockCache } from "./block-cache.js";
import { groupModels, type ModelGroup } from "./grouping.js";

/** A file the page was given, under the relative path it came with (folder picks and drops keep folders). */
export interface GivenFile {
  path: string;
  file: File;
}

/** Resolves `relative` against `folder` the way a model file's own references are meant; undefined if it leaves the set's root. */
export function joinInside(folder: string, relative: string): string | undefined {
  const parts = folder === "" ? [] : folder.split("/");
  for (const part of relative.replace(/\\/g, "/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

/**
 * Every file given so far, by relative path: a model's side files (.pdiparams, external data,
 * variables/, shards) are found as siblings among them, as they would be beside it on disk.
 */
export class FileSet {
  private readonly files = new Map<string, File>();

  add(given: readonly GivenFile[]): void {
    for (const g of given) this.files.set(g.path.replace(/^\/+/, ""), g.file);
  }

  paths(): string[] {
    return [...this.files.keys()];
  }

  models(): ModelGroup[] {
    return groupModels(this.paths());
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** A source over the file at `path` whose siblings resolve inside this set; read with Blob.slice. */
  source(path: string): ByteSource {
    const file = this.files.get(path);
    if (!file) throw new WeightbridgeError("io", "no such file (give it to the page together with the model)", { file: path });
    const folder = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    return {
      ...withBlockCache(blobSource(file, path)),
      sibling: async (relative: string) => {
        const target = joinInside(folder, relative);
        if (target === undefined) throw new WeightbridgeError("corrupt", `refusing path '${relative}': it must stay inside the files given`, { file: path });
        return this.source(target);
      },
      folderFiles: async () =>
        this.paths()
          .filter((p) => folder === "" || p.startsWith(`${folder}/`))
          .map((p) => (folder === "" ? p : p.slice(folder.length + 1)))
          .sort(),
    };
  }
}

/** The files a conversion wrote (by path) as a set of their own. */
export function fileSetOf(written: Map<string, Blob>): FileSet {
  const set = new FileSet();
  set.add([...written].map(([path, blob]) => ({ path, file: new File([blob], path.split("/").pop()!) })));
  return set;
}
