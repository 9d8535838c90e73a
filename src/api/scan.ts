import { WeightbridgeError } from "../errors.js";
import type { ByteSource } from "../io/source.js";
import { detectFormat } from "../formats/index.js";
import { pickleSources, zipPickles, type PickleSources, type PickleStream } from "../pickle/containers.js";
import { unpickleDetailed, type GlobalRef, type GlobalStatus, type PickleAnomaly } from "../pickle/index.js";
import { openSource, type Input } from "./open.js";
import { looksLikeZip } from "../io/zip.js";
import { expandedVisits, walkBudget } from "../pickle/walk.js";
import type { PickleValue } from "../pickle/values.js";

/** One thing scan found: a global a pickle references, a structural oddity, or a part it could not read. */
export interface ScanFinding {
  /** The pickle: zip entry (`archive/data.pkl`), legacy stream part (`pickle 4 (object)`) or `pickle 1`. */
  pickle: string;
  /** Byte offset of the opcode (GLOBAL / STACK_GLOBAL / INST / EXT, or the anomaly): inside the zip entry, or in the file. */
  offset: number;
  /** `module.name` (`posix.system`, `__main__.Net`); for other findings, what was found. */
  callable: string;
  /** How the name was referenced; `-` for findings that are not globals. */
  opcode: GlobalRef["opcode"] | "-";
  /**
   * known: a constructor weightbridge models; unknown: a class rebuilt as inert data, never
   * called; dangerous: the pickle would call it (or it only serves to run code); unreadable: the
   * pickle could not be interpreted to its end, so it cannot be shown safe; unsupported: a part
   * weightbridge cannot open (7z, encrypted zip entry, not a pickle); structure: a structural attack
   * (a key set twice, FRAMEs that do not tile the stream: bytes CPython would read otherwise;
   * shared containers that expand beyond what a walk of them can end);
   * cycle: a container holding itself (Python writes such lists: harmless).
   * dangerous and structure make the file dangerous; unreadable and unsupported leave it unproven.
   */
  status: GlobalStatus | "unreadable" | "unsupported" | "structure" | "cycle";
  /** Why a finding is dangerous (`REDUCE at byte 40 calls it`). */
  reason?: string;
}

export interface ScanResult {
  file: string;
  /** What held the pickles. */
  container: PickleSources["container"];
  /** The format whose descriptor (Format.pickles) listed them, when a format claimed the file. */
  format?: string;
  /** Every pickle looked at, in file order. */
  pickles: string[];
  findings: ScanFinding[];
  /** The findings by which the file could run code (dangerous, structure). */
  dangerous: ScanFinding[];
  /** The parts that could not be looked into (unreadable, unsupported): the file cannot be shown safe. */
  unproven: ScanFinding[];
  /**
   * dangerous: something could run code; unreadable / unsupported: nothing dangerous was found but
   * a part could not be read / opened; safe: pickles, all plain data; none: no pickles at all.
   */
  verdict: "dangerous" | "unreadable" | "unsupported" | "safe" | "none";
}

const DANGEROUS_STATUSES = new Set<ScanFinding["status"]>(["dangerous", "structure"]);
const UNPROVEN_STATUSES = new Set<ScanFinding["status"]>(["unreadable", "unsupported"]);

function verdictOf(pickles: readonly string[], dangerous: readonly ScanFinding[], unproven: readonly ScanFinding[]): ScanResult["verdict"] {
  if (dangerous.length > 0) return "dangerous";
  if (unproven.some((f) => f.status === "unreadable")) return "unreadable";
  if (unproven.length > 0) return "unsupported";
  return pickles.length > 0 ? "safe" : "none";
}
/** Array payloads above this are stepped over, not read: a multi-GB file is scanned in little memory. */
const LAZY_BYTES = 4096;

/**
 * Lists every global each pickle in a file references, without executing or refusing anything.
 * Formats with pickles say where theirs are (Format.pickles: torch zips and legacy files,
 * TorchScript, .pdparams); anything else is looked into as a container (zip, .npy, .npz, gzip,
 * bare pickles of any protocol). A file weightbridge cannot look into is reported as such.
 */
export async function scan(input: Input): Promise<ScanResult> {
  const source = await openSource(input);
  try {
    const { format, sources } = await locatePickles(source);
    const pickles: string[] = [];
    const findings: ScanFinding[] = sources.unopened.map((u) => ({
      pickle: u.name,
      offset: u.offset,
      callable: u.reason,
      opcode: "-" as const,
      status: u.damaged ? ("unreadable" as const) : ("unsupported" as const),
    }));
    for (const stream of sources.streams) scanStream(source.name, stream, pickles, findings);
    const dangerous = findings.filter((f) => DANGEROUS_STATUSES.has(f.status));
    const unproven = findings.filter((f) => UNPROVEN_STATUSES.has(f.status));
    const result: ScanResult = {
      file: source.name,
      container: sources.container,
      pickles,
      findings,
      dangerous,
      unproven,
      verdict: verdictOf(pickles, dangerous, unproven),
    };
    if (format) result.format = format;
    return result;
  } catch (e) {
    if (e instanceof WeightbridgeError) throw e.at({ file: source.name });
    throw e;
  } finally {
    await source.close();
  }
}

/** The claiming format's own list of pickles (formats/index.ts order), else a look into the container. */
async function locatePickles(source: ByteSource): Promise<{ format?: string; sources: PickleSources }> {
  const format = (await detectFormat(source).catch(() => undefined))?.format;
  if (format?.pickles) return { format: format.id, sources: await format.pickles(source) };
  if (!format) return { sources: await pickleSources(source) };
  // A format without pickles (safetensors, ONNX, HDF5 ...) may hide some in a zip (a zip-based one); its bytes
  // are never a bare pickle: read as one, a safetensors file whose header length begins with an opcode byte
  // ('p' = PUT) was reported unreadable, so unsafe, and the page loaded the whole file to interpret it.
  const head = await source.read(0, Math.min(source.size, 4));
  return { format: format.id, sources: looksLikeZip(head) ? await zipPickles(source) : { container: "none", streams: [], unopened: [] } };
}

/** Interprets one stream's pickles (nothing runs, nothing is refused) and adds what they hold. */
function scanStream(file: string, stream: PickleStream, pickles: string[], findings: ScanFinding[]): void {
  const count = stream.sequence?.length ?? (stream.backToBack ? Infinity : 1);
  let start = stream.start;
  for (let i = 0; i < count && start < stream.input.size; i++) {
    const name = stream.sequence?.[i] ?? (i === 0 ? stream.name : `${stream.name} ${i + 1}`);
    const globals: GlobalRef[] = [];
    const anomalies: PickleAnomaly[] = [];
    let end: number | undefined;
    let error: WeightbridgeError | undefined;
    let expansion: string | undefined;
    try {
      const unpickled = unpickleDetailed(stream.input, {
        start,
        name: `${file}:${name}`,
        refuseDangerous: false,
        lazyBytesOver: LAZY_BYTES,
        globals,
        anomalies,
      });
      end = unpickled.end;
      expansion = expansionOf(unpickled.value);
    } catch (e) {
      if (!(e instanceof WeightbridgeError)) throw e;
      error = e;
    }
    // After a first pickle, bytes that are no further pickle (joblib's raw arrays, torch's
    // storages) end the stream; what they referenced before failing is still reported.
    const trailing = i > 0 && error !== undefined && stream.sequence === undefined;
    if (!trailing || globals.length > 0) pickles.push(name);
    for (const g of globals) {
      const finding: ScanFinding = { pickle: name, offset: g.offset, callable: `${g.module}.${g.name}`, opcode: g.opcode, status: g.status };
      if (g.reason) finding.reason = g.reason;
      findings.push(finding);
    }
    for (const a of anomalies) {
      findings.push({
        pickle: name,
        offset: a.offset,
        callable: `${a.kind}: ${a.message}`,
        opcode: "-",
        status: a.kind === "self-reference" ? "cycle" : "structure",
      });
    }
    // What readers refuse as an expansion (a walk that would not end) scan flags, so convert never refuses what scan passes.
    if (expansion) findings.push({ pickle: name, offset: start, callable: `expansion: ${expansion}`, opcode: "-", status: "structure" });
    if (error) {
      if (!trailing) findings.push({ pickle: name, offset: error.location.offset ?? start, callable: error.message, opcode: "-", status: "unreadable" });
      return;
    }
    start = end!;
  }
}

/** Why walking the value would not end (shared containers referenced over and over), or undefined. */
function expansionOf(value: PickleValue): string | undefined {
  const budget = walkBudget(value);
  const visits = expandedVisits(value, budget);
  if (visits <= budget) return undefined;
  return `shared containers expand into more than ${budget} values (a "billion laughs" of repeated references; readers refuse it)`;
}
