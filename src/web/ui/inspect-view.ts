import type { TensorSummary } from "../../api/inspect.js";
import { humanBytes } from "../../cli/output.js";
import { layerTree, totals } from "../../cli/inspect-table.js";
import { clearError, showError } from "./status.js";
import type { ModelView } from "../engine/operations.js";
import { byId, el, setChildren } from "./dom.js";

/** Rows beyond this are not drawn at once (the filter narrows them); a note says so. */
const MAX_ROWS = 5000;

let shownTensors: TensorSummary[] = [];

function filterOf(text: string): { test(name: string): boolean } {
  if (text === "") return { test: () => true };
  try {
    return new RegExp(text);
  } catch {
    const needle = text.toLowerCase();
    return { test: (name: string) => name.toLowerCase().includes(needle) };
  }
}

function tensorRow(t: TensorSummary): HTMLTableRowElement {
  const dtype = t.storedDtype ? `${t.dtype} (stored ${t.storedDtype})` : t.dtype;
  return el(
    "tr",
    { "data-name": t.name },
    el("td", { class: "name" }, t.name),
    el("td", { class: "dtype" }, dtype),
    el("td", { class: "shape" }, `[${t.shape.join(", ")}]`),
    el("td", { class: "size" }, humanBytes(t.bytes)),
  );
}

/** Draws #tensors, #tree and the filter count for the tensors matching #filter. */
export function drawTensors(): void {
  const filter = filterOf(byId<HTMLInputElement>("filter").value.trim());
  const matching = shownTensors.filter((t) => filter.test(t.name));
  const body = byId<HTMLTableElement>("tensors").tBodies[0]!;
  const rows = document.createDocumentFragment();
  for (const t of matching.slice(0, MAX_ROWS)) rows.append(tensorRow(t));
  body.replaceChildren(rows);
  byId("tree").textContent = layerTree(matching).join("\n");
  const note = matching.length > MAX_ROWS ? `; the first ${MAX_ROWS} are listed (narrow the filter)` : "";
  byId("filter-count").textContent =
    matching.length === shownTensors.length ? `${shownTensors.length} tensors${note}` : `${matching.length} of ${shownTensors.length} tensors match${note}`;
}

function scanText(view: ModelView): string {
  const scan = view.scan;
  if (view.verdict === "dangerous" && scan) {
    const globals = [...new Set(scan.dangerous.map((f) => f.callable))];
    return `Dangerous: this file's pickles would run code (${globals.join(", ")}). Nothing in it was run, here or anywhere: weightbridge never executes pickles.`;
  }
  if (view.verdict === "safe" && scan) return `Safe: ${scan.pickles.length} pickle(s), every global they reference is plain data (nothing was run).`;
  if (view.verdict === "unreadable") {
    const why = scan?.unproven[0]?.callable;
    return `Cannot be shown safe: part of this file could not be read${why ? ` (${why})` : ""}. Nothing dangerous was found in what could be read, and nothing was run.`;
  }
  return "No pickles: this format cannot run code.";
}

/** Shows a model: format, totals, meta, warnings, scan verdict, tensors, tree. */
export function showModel(label: string, view: ModelView | undefined): void {
  byId("model").hidden = false;
  byId("model-name").textContent = label;
  const inspection = view?.inspection;
  byId("format").textContent = inspection?.format ?? (view?.failure ? "unreadable" : "…");
  byId("totals").textContent = inspection
    ? inspection.tensors.length
      ? totals(inspection.tensors).join("\n")
      : "no tensors: this file holds no weights (only what meta shows)"
    : "";
  const meta = inspection ? Object.entries(inspection.meta) : [];
  byId("meta").textContent = meta.length ? meta.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join("\n") : "(none)";
  setChildren(byId("warnings"), ...(inspection?.warnings ?? []).map((w) => el("li", {}, w)));
  // A model that could not be read says why in #error, as the CLI would.
  if (view?.failure) showError(view.failure);
  else clearError();
  const scan = byId("scan");
  scan.dataset.verdict = view?.verdict ?? "none";
  scan.textContent = view ? scanText(view) : "";
  shownTensors = inspection?.tensors ?? [];
  drawTensors();
}
