import { WeightbridgeError } from "../errors.js";

/**
 * Structural oddities of a pickle that are not errors (CPython's unpickler accepts them) but that
 * no framework writes and that attacks use: a key set twice, FRAMEs that do not tile the stream
 * (where CPython and other readers may see other opcodes). Scans report them with their offset;
 * readers that refuse dangerous pickles refuse them too, so that convert never accepts what scan
 * flags. A container holding itself is reported but harmless (Python writes such lists).
 */
export type AnomalyKind = "self-reference" | "duplicate-key" | "frame";

export interface PickleAnomaly {
  kind: AnomalyKind;
  /** Byte offset of the opcode (or structure) concerned. */
  offset: number;
  message: string;
}

/** At most this many anomalies of one kind are kept: a hostile file must not grow the report without bound. */
const PER_KIND = 20;

export class AnomalyLog {
  private readonly counts = new Map<AnomalyKind, number>();

  constructor(
    private readonly sink: PickleAnomaly[] | undefined,
    /** Set when the reader refuses unsafe pickles: the file to name in the refusal. */
    private readonly refuseIn?: string,
  ) {}

  has(kind: AnomalyKind): boolean {
    return this.counts.has(kind);
  }

  add(kind: AnomalyKind, offset: number, message: string): void {
    if (this.refuseIn !== undefined && kind !== "self-reference") {
      throw new WeightbridgeError(
        "unsafe-pickle",
        `${message}: a layout no framework writes, which other unpicklers may read otherwise; refused (weightbridge scan lists it)`,
        {
          file: this.refuseIn,
          offset,
        },
      );
    }
    if (!this.sink) return;
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n <= PER_KIND) this.sink.push({ kind, offset, message });
    else if (n === PER_KIND + 1) this.sink.push({ kind, offset, message: `more ${kind} findings follow; only the first ${PER_KIND} are listed` });
  }
}
