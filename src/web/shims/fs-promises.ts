// node:fs/promises in the page: nothing is reachable by path.
import { refuseAsync } from "./unavailable.js";

export const open = refuseAsync("opening a file by path");
export const readFile = refuseAsync("reading a file by path");
export const readdir = refuseAsync("listing a folder");
export const stat = refuseAsync("stat");
export const lstat = refuseAsync("stat");
export const realpath = refuseAsync("resolving a path");
export const mkdir = refuseAsync("creating a folder");
export const rename = refuseAsync("renaming a file");
export const rm = refuseAsync("removing a file");
export const link = refuseAsync("linking a file");
export const unlink = refuseAsync("removing a file");
export type FileHandle = never;
