// One table of handlers keyed by (domain, op, version range), as onnx2torch and tf2onnx register
// theirs: a converter for a source op (an ONNX op at an opset, a Keras class) is looked up here,
// never chosen by an if-chain. Each op family registers its handlers from a file of its own.

export interface Registration<H> {
  domain: string;
  op: string;
  /** First version the handler covers (ONNX: the opset the op's current semantics started). */
  since: number;
  /** Last version covered; open-ended when absent. */
  until?: number;
  handler: H;
}

export class OpRegistry<H> {
  private readonly byOp = new Map<string, Array<Registration<H>>>();

  register(registration: Registration<H>): this {
    const key = keyOf(registration.domain, registration.op);
    const list = this.byOp.get(key) ?? [];
    for (const other of list) {
      const overlap = registration.since <= (other.until ?? Infinity) && other.since <= (registration.until ?? Infinity);
      if (overlap) throw new Error(`${key} has two handlers for versions ${Math.max(registration.since, other.since)}+`);
    }
    list.push(registration);
    this.byOp.set(key, list);
    return this;
  }

  /** The handler covering `version` of `op`, or undefined. */
  lookup(domain: string, op: string, version: number): H | undefined {
    const list = this.byOp.get(keyOf(domain, op));
    return list?.find((r) => r.since <= version && version <= (r.until ?? Infinity))?.handler;
  }

  /** Whether any version of `op` is covered (to tell "unknown op" from "op not at this version"). */
  knows(domain: string, op: string): boolean {
    return this.byOp.has(keyOf(domain, op));
  }

  /** Every registration, for listings and conformance reports. */
  entries(): Array<Registration<H>> {
    return [...this.byOp.values()].flat();
  }
}

function keyOf(domain: string, op: string): string {
  return domain === "" || domain === "ai.onnx" ? op : `${domain}::${op}`;
}
