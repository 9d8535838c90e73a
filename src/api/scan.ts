import { WeightbridgeError } from "../errors.js";
import { looksLikeZip, openZip, type ZipEntry } from "../io/zip.js";
import type { ByteSource } from "../io/source.js";
import { pickleInputOf, scanPickle, unpickleDetailed, type GlobalRef, type GlobalStatus } from "../pickle/index.js";
import { isLegacyTorch, readLegacyPickles } from "../formats/pytorch/legacy.js";
import { openSource, type Input } from "./open.js";

/** One global a pickle references. */
export interface ScanFinding {
  /** The pickle: zip entry (`archive/data.pkl`), legacy stream part (`pickle 4 (object)`) or `pickle 1`. */
  pickle: string;
  /** Byte offset of the GLOBAL / STACK_GLOBAL / INST opcode: inside the zip entry, or in the file for streams. */
  offset: number;
  /** `module.name`, e.g. `posix.system`, `__main__.Net`. */
  callable: string;
  /** How the name was referenced; `-` for an unreadable pickle. */
  opcode: GlobalRef["opcode"] | "-";
  /**
   * known: a constructor weightbridge models; unknown: a class kept as inert data; dangerous:
   * could only serve to run code; unreadable: the pickle could not be interpreted to its end
   * (e.g. it calls the result of a call, as `getattr(__import__('os'), 'system')(cmd)` does), so
   * it cannot be shown safe: counted as dangerous, `callable` holds the reason.
   */
  status: GlobalStatus | "unreadable";
}

export interface ScanResult {
  file: string;
  container: "zip" | "legacy-torch" | "pickle" | "none";
  /** Every pickle looked at, in file order. */
  pickles: string[];
  findings: ScanFinding[];
  /** The findings with status "dangerous". */
  dangerous: ScanFinding[];
}

/** Zip entries that hold pickles: torch/TorchScript records, debug pickles, Paddle pickles ... */
const PICKLE_NAME = /(\.pkl|\.debug_pkl|\.pickle|\.pdparams|\.pdopt|\.pdiparams\.info)$/i;
/** Folders of raw tensor bytes, never pickles. */
const DATA_FOLDER = /(^|\/)(data|constants|tensors)\//;
const PEEK_LIMIT = 64 << 20;

/**
 * Lists every global each pickle in a file references, without executing or refusing anything:
 * zip archives (torch.save, torch.jit.save, any zip holding pickles), legacy torch streams, and
 * plain pickle files (.pdparams, .pdopt, .pkl). Files without pickles have nothing to report.
 */
export async function scan(input: Input): Promise<ScanResult> {
  const source = await openSource(input);
  try {
    const head = await source.read(0, Math.min(source.size, 64));
    if (looksLikeZip(head)) return await scanZip(source);
    if (isLegacyTorch(head)) return await scanLegacy(source);
    if (head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return await scanPickleFile(source);
    return { file: source.name, container: "none", pickles: [], findings: [], dangerous: [] };
  } catch (e) {
    if (e instanceof WeightbridgeError) throw e.at({ file: source.name });
    throw e;
  } finally {
    await source.close();
  }
}

function result(file: string, container: ScanResult["container"], pickles: string[], findings: ScanFinding[]): ScanResult {
  return { file, container, pickles, findings, dangerous: findings.filter((f) => f.status === "dangerous" || f.status === "unreadable") };
}

/** The findings of one pickle; one "unreadable" finding when it cannot be interpreted. */
function scanOne(pickle: string, run: () => GlobalRef[]): ScanFinding[] {
  try {
    return findingsOf(pickle, run());
  } catch (e) {
    if (!(e instanceof WeightbridgeError)) throw e;
    return [{ pickle, offset: e.location.offset ?? 0, callable: e.message, opcode: "-", status: "unreadable" }];
  }
}

function findingsOf(pickle: string, globals: GlobalRef[]): ScanFinding[] {
  return globals.map((g) => ({ pickle, offset: g.offset, callable: `${g.module}.${g.name}`, opcode: g.opcode, status: g.status }));
}

async function scanZip(source: ByteSource): Promise<ScanResult> {
  const zip = await openZip(source);
  const pickles: string[] = [];
  const findings: ScanFinding[] = [];
  for (const entry of zip.entries) {
    if (!(await holdsPickle(zip.read.bind(zip), entry))) continue;
    const bytes = await zip.read(entry);
    pickles.push(entry.name);
    findings.push(...scanOne(entry.name, () => scanPickle(bytes, { name: `${source.name}:${entry.name}` }).globals));
  }
  return result(source.name, "zip", pickles, findings);
}

async function holdsPickle(read: (e: ZipEntry) => Promise<Uint8Array>, entry: ZipEntry): Promise<boolean> {
  if (entry.name.endsWith("/") || entry.size === 0) return false;
  if (PICKLE_NAME.test(entry.name)) return true;
  if (DATA_FOLDER.test(entry.name) || entry.size > PEEK_LIMIT) return false;
  const bytes = await read(entry);
  return bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5 && bytes[bytes.length - 1] === 0x2e;
}

async function scanLegacy(source: ByteSource): Promise<ScanResult> {
  const { pickles, labels } = await readLegacyPickles(source, (bytes, start, _i, label) =>
    unpickleDetailed(bytes, { start, name: label, refuseDangerous: false }));
  const names = labels.map((l) => l.slice(source.name.length + 1));
  const findings = pickles.flatMap((p, i) => findingsOf(names[i]!, p.globals));
  return result(source.name, "legacy-torch", names, findings);
}

/** One or more pickles back to back (a .pdparams is one; stop at the first bytes that are not another). */
async function scanPickleFile(source: ByteSource): Promise<ScanResult> {
  const input = await pickleInputOf(source);
  const names: string[] = [];
  const findings: ScanFinding[] = [];
  let start = 0;
  while (start < input.size && input.bytesAt(start, 1)[0] === 0x80) {
    const name = `pickle ${names.length + 1}`;
    let scanned: ReturnType<typeof unpickleDetailed>;
    try {
      // Array payloads are skipped, not read: a multi-GB .pdparams is scanned in little memory.
      scanned = unpickleDetailed(input, { start, name: `${source.name}:${name}`, refuseDangerous: false, lazyBytesOver: 4096 });
    } catch (e) {
      // Trailing bytes that merely start like a pickle end the scan; a first pickle that fails is a finding.
      if (names.length === 0) {
        names.push(name);
        findings.push(...scanOne(name, () => { throw e; }));
      }
      break;
    }
    names.push(name);
    findings.push(...findingsOf(name, scanned.globals));
    start = scanned.end;
  }
  return result(source.name, "pickle", names, findings);
}
