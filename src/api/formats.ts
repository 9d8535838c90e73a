import { FORMATS } from "../formats/index.js";
import type { FormatId } from "../formats/index.js";

export interface FormatInfo {
  id: FormatId;
  name: string;
  extensions: string[];
  read: boolean;
  write: boolean;
}

/** The formats this build knows. */
export function formats(): FormatInfo[] {
  return FORMATS.map((f) => ({ id: f.id, name: f.name, extensions: f.extensions, read: !!f.read, write: !!f.write }));
}
