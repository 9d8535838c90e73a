/** Every kind of failure weightbridge reports. Documented in README ("Errors"). */
export type ErrorCode =
  | "bad-magic" // bytes are not the format they claim to be (or no known format)
  | "truncated" // the file ends before a structure it declares
  | "corrupt" // a structure is inconsistent (bad lengths, offsets, references)
  | "unsupported" // valid input using a feature weightbridge does not handle
  | "unsafe-pickle" // a pickle references a callable outside the known-constructor table
  | "template-mismatch" // names, shapes or dtypes disagree with a template or target
  | "mapping" // a mapping rule failed or is invalid
  | "io" // the file system said no
  | "exists" // output exists and --force was not given
  | "verification" // convert --verify: the output computes something else than the source
  | "usage"; // the caller asked for something impossible

export interface ErrorLocation {
  file?: string;
  tensor?: string;
  offset?: number;
  /** HDF5 path, zip entry, protobuf field, etc. */
  path?: string;
}

/** The one error type weightbridge throws on purpose. Its message is a single line. */
export class WeightbridgeError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WeightbridgeError";
    this.code = code;
    this.location = { ...location };
  }

  /** Adds location facts the thrower did not know (e.g. the file name), keeping existing ones. */
  at(location: ErrorLocation): this {
    for (const [key, value] of Object.entries(location)) {
      if (value !== undefined && (this.location as Record<string, unknown>)[key] === undefined) {
        (this.location as Record<string, unknown>)[key] = value;
      }
    }
    return this;
  }

  /** "file: tensor 'x': at byte 123: message" */
  describe(): string {
    const parts: string[] = [];
    const loc = this.location;
    if (loc.file) parts.push(loc.file);
    if (loc.path) parts.push(loc.path);
    if (loc.tensor) parts.push(`tensor '${loc.tensor}'`);
    if (loc.offset !== undefined) parts.push(`byte ${loc.offset}`);
    parts.push(this.message);
    return parts.join(": ");
  }
}

export function isWeightbridgeError(e: unknown): e is WeightbridgeError {
  return e instanceof WeightbridgeError;
}

/** Throws a `corrupt` error unless `condition` holds. */
export function check(condition: unknown, message: string, location?: ErrorLocation): asserts condition {
  if (!condition) throw new WeightbridgeError("corrupt", message, location);
}
