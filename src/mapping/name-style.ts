// The two tensor-name conventions: Keras' `layer/kernel:0` and everyone else's `layer.weight`.

/** Keras weight names use `/` and a `:0` slot suffix; everyone else dots. */
export function looksKeras(name: string): boolean {
  return name.includes("/") || /:\d+$/.test(name);
}

/** A tensor's layer path and parameter name in its convention (`a.b.weight` → a.b, weight). */
export function splitName(name: string): { module: string; param: string } {
  const keras = looksKeras(name);
  const sep = keras ? "/" : ".";
  const bare = keras ? name.replace(/:\d+$/, "") : name;
  const at = bare.lastIndexOf(sep);
  return at < 0 ? { module: "", param: bare } : { module: bare.slice(0, at), param: bare.slice(at + 1) };
}
