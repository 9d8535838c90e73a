/** Small DOM helpers: the page is plain DOM, no framework. */

type Child = Node | string | number | undefined | null | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(key, value);
  for (const child of children) if (child !== undefined && child !== null && child !== false) node.append(typeof child === "number" ? String(child) : child);
  return node;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

export function setChildren(node: Element, ...children: Child[]): void {
  node.replaceChildren(
    ...children.filter((c): c is Node | string | number => c !== undefined && c !== null && c !== false).map((c) => (typeof c === "number" ? String(c) : c)),
  );
}

export function fillSelect(select: HTMLSelectElement, options: Array<{ value: string; label: string }>, keep = true): void {
  const previous = select.value;
  setChildren(select, ...options.map((o) => el("option", { value: o.value }, o.label)));
  if (keep && options.some((o) => o.value === previous)) select.value = previous;
}
