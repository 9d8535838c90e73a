export { openZip, looksLikeZip, type ZipArchive, type ZipEntry } from "./zip-read.js";
export { ZipWriter, type ZipEntryWriter, type ZipWriterOptions } from "./zip-write.js";
