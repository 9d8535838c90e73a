// node:fs in the page. The only files it has are the package's own schemas (protobuf
// definitions, the rules schema), embedded by the build; everything else is unavailable.
import schemas from "weightbridge:schemas";
import { refuse, unavailable } from "./unavailable.js";

/** The schemas/ path inside a packageFile("schemas/x") URL (util/package-root.ts) the library reads. */
function schemaName(path: unknown): string | undefined {
  const text = path instanceof URL ? path.pathname : String(path);
  const at = text.lastIndexOf("/schemas/");
  return at < 0 ? undefined : decodeURIComponent(text.slice(at + "/schemas/".length));
}

export function readFileSync(path: unknown): string {
  const name = schemaName(path);
  const text = name === undefined ? undefined : schemas[name];
  if (text === undefined) throw unavailable(`reading ${String(path)}`);
  return text;
}

export function existsSync(): boolean {
  return false;
}

export const readdirSync = refuse("listing a folder");
export const readSync = refuse("reading a file by descriptor");
export const writeSync = refuse("writing a file");
export const openSync = refuse("opening a file");
export const closeSync = refuse("closing a file");
export const fstatSync = refuse("stat");
export const ftruncateSync = refuse("truncating a file");
export const unlinkSync = refuse("removing a file");
export const rmSync = refuse("removing a file");
export const chmodSync = refuse("chmod");
export const read = refuse("reading a file by descriptor");
export const fdatasync = refuse("flushing a file to disk");
/** Open flags (io/source.ts opens files by path, which the page never does). */
export const constants = { O_RDONLY: 0, O_NONBLOCK: 0 };
