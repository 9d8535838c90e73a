// A validator for the subset of JSON Schema that schemas/mapping-rules.schema.json uses:
// type, enum, const, properties, required, additionalProperties (boolean), items, minItems,
// minimum, anyOf, oneOf and local $ref. Keywords outside the subset are rejected, so the schema
// cannot silently grow beyond what is checked.

export type Schema = { [key: string]: unknown };

const KNOWN = new Set([
  "$schema",
  "$id",
  "$defs",
  "$ref",
  "title",
  "description",
  "type",
  "enum",
  "const",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "minimum",
  "anyOf",
  "oneOf",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeMatches(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export class SchemaChecker {
  constructor(private readonly root: Schema) {}

  /** Error messages (`at /rules/3/match: missing required property 'name'`), empty when valid. */
  check(value: unknown): string[] {
    return this.validate(value, this.root, "");
  }

  private resolve(ref: string): Schema {
    const m = /^#\/\$defs\/([^/]+)$/.exec(ref);
    const defs = this.root.$defs as Record<string, Schema> | undefined;
    const target = m ? defs?.[m[1]!] : undefined;
    if (!target) throw new Error(`schema: unresolvable $ref '${ref}'`);
    return target;
  }

  private validate(value: unknown, schema: Schema, at: string): string[] {
    for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`schema: keyword '${key}' is not supported by the validator`);
    const where = at || "/";
    if (schema.$ref) return this.validate(value, this.resolve(schema.$ref as string), at);
    if (schema.anyOf) {
      const options = schema.anyOf as Schema[];
      const results = options.map((s) => this.validate(value, s, at));
      return results.some((r) => r.length === 0) ? [] : [`at ${where}: ${show(value)} fits none of the allowed forms (${results.map((r) => r[0]).join("; ")})`];
    }
    if (schema.oneOf) return this.oneOf(value, schema.oneOf as Schema[], where, at);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
      if (!types.some((t) => typeMatches(value, t))) return [`at ${where}: expected ${types.join(" or ")}, got ${typeOf(value)} ${show(value)}`];
    }
    if (schema.enum && !(schema.enum as unknown[]).some((e) => e === value)) {
      return [`at ${where}: ${show(value)} is not one of ${(schema.enum as unknown[]).map(show).join(", ")}`];
    }
    if ("const" in schema && schema.const !== value) return [`at ${where}: expected ${show(schema.const)}, got ${show(value)}`];
    if (typeof value === "number" && typeof schema.minimum === "number" && value < schema.minimum) {
      return [`at ${where}: ${value} is less than ${schema.minimum}`];
    }
    const errors: string[] = [];
    if (Array.isArray(value)) {
      if (typeof schema.minItems === "number" && value.length < schema.minItems) errors.push(`at ${where}: needs at least ${schema.minItems} item(s)`);
      if (schema.items) value.forEach((item, i) => errors.push(...this.validate(item, schema.items as Schema, `${at}/${i}`)));
    } else if (typeOf(value) === "object") {
      const obj = value as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const req of (schema.required ?? []) as string[]) if (!(req in obj)) errors.push(`at ${where}: missing required property '${req}'`);
      for (const [key, v] of Object.entries(obj)) {
        if (props[key]) errors.push(...this.validate(v, props[key]!, `${at}/${key}`));
        else if (schema.additionalProperties === false) {
          errors.push(`at ${where}: unknown property '${key}' (allowed: ${Object.keys(props).join(", ")})`);
        }
      }
    }
    return errors;
  }

  /** oneOf over object forms: pick the form whose `const` discriminator matches, for a precise message. */
  private oneOf(value: unknown, options: Schema[], where: string, at: string): string[] {
    const results = options.map((s) => this.validate(value, s, at));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 1) return [];
    if (passing > 1) return [`at ${where}: ${show(value)} fits more than one form`];
    if (typeOf(value) === "object") {
      const obj = value as Record<string, unknown>;
      const discriminated = options.findIndex((s) => {
        const props = (s.properties ?? {}) as Record<string, Schema>;
        return Object.entries(props).some(([k, p]) => "const" in p && obj[k] === p.const);
      });
      if (discriminated >= 0) return results[discriminated]!;
      const consts = options.flatMap((s) =>
        Object.values((s.properties ?? {}) as Record<string, Schema>)
          .filter((p) => "const" in p)
          .map((p) => show(p.const)),
      );
      if (consts.length) return [`at ${where}: ${show(value)} is none of the forms ${consts.join(", ")}`];
    }
    return [`at ${where}: ${show(value)} fits none of the allowed forms`];
  }
}
