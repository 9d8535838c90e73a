// node:util in the page: only promisify, whose node callers (descriptor reads) never run here.
import { refuseAsync } from "./unavailable.js";

export function promisify(_fn: unknown): (...args: unknown[]) => Promise<never> {
  return refuseAsync("reading a file by descriptor");
}
