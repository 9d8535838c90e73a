import type { Format } from "./types.js";

/**
 * THE list of formats, in sniffing order (more specific containers first).
 * Adding a format = writing its module and adding one line here.
 */
export const FORMATS: Format[] = [
];
