import { presetNames } from "../../mapping/presets.js";
import { FileSet, fileSetOf, type GivenFile } from "../engine/file-set.js";
import type { ModelGroup } from "../engine/grouping.js";
import { describeModel, type ModelRef, type ModelView } from "../engine/operations.js";
import { byId, el, setChildren } from "./dom.js";

/** A model in #models: its files (all given files, for siblings), its group, and what inspect found. */
export interface Entry {
  id: string;
  group: ModelGroup;
  files: FileSet;
  view?: ModelView;
}

/** What the engine's operations take for an entry. */
export const refOf = (entry: Entry): ModelRef => ({ files: entry.files, model: entry.group });

/** A mapping select's choices: "" for none, then the presets. */
export const mappingChoices = (): Array<{ value: string; label: string }> => [
  { value: "", label: "no mapping" },
  ...presetNames().map((p) => ({ value: p, label: p })),
];

const files = new FileSet();
const entries: Entry[] = [];
let shown: Entry | undefined;
const listeners: Array<() => void> = [];

export function allEntries(): readonly Entry[] {
  return entries;
}

export function shownEntry(): Entry | undefined {
  return shown;
}

/** Called when the list or the shown model changes (selects elsewhere follow it). */
export function onModelsChange(listener: () => void): void {
  listeners.push(listener);
}

function changed(): void {
  drawList();
  for (const l of listeners) l();
}

function drawList(): void {
  setChildren(
    byId("models"),
    ...entries.map((e) => {
      const button = el(
        "button",
        { type: "button", class: "model-button", title: e.group.files.join("\n") },
        e.group.label,
        e.group.files.length > 1 ? el("span", { class: "members" }, ` + ${e.group.files.length - 1} file${e.group.files.length > 2 ? "s" : ""}`) : undefined,
      );
      const format = e.view?.inspection?.format ?? (e.view ? "unreadable" : "reading…");
      const dangerous = e.view?.verdict === "dangerous";
      const item = el(
        "li",
        { "data-model": e.group.label, "data-path": e.group.main, "data-verdict": e.view?.verdict, "aria-current": e === shown ? "true" : undefined },
        button,
        el("span", { class: "model-format" }, format),
        dangerous ? el("span", { class: "model-danger", title: "its pickles would run code (never run here)" }, "dangerous") : undefined,
      );
      item.addEventListener("click", () => select(e));
      return item;
    }),
  );
}

let showModelView: (entry: Entry) => void = () => {};

export function onShow(show: (entry: Entry) => void): void {
  showModelView = show;
}

export function select(entry: Entry): void {
  shown = entry;
  showModelView(entry);
  changed();
}

type Busy = (label: string, work: () => Promise<void>) => Promise<void>;

/** Adds given files; each new model is inspected and scanned in turn, and the newest is shown. */
export async function addFiles(given: GivenFile[], busy: Busy): Promise<void> {
  if (given.length === 0) return;
  files.add(given);
  const known = new Set(entries.map((e) => e.id));
  await addEntries(
    files
      .models()
      .filter((g) => !known.has(g.main))
      .map((group): Entry => ({ id: group.main, group, files })),
    busy,
  );
}

/**
 * Adds what a conversion wrote as models of their own (their own file set, so their names never
 * mix with the given files'), for diff and verify against the source.
 */
export async function addOutput(written: Map<string, Blob>, busy: Busy): Promise<void> {
  const output = fileSetOf(written);
  const known = new Set(entries.map((e) => e.id));
  const fresh = output.models().map((group): Entry => {
    let id = `output: ${group.main}`;
    for (let n = 2; known.has(id); n++) id = `output ${n}: ${group.main}`;
    return { id, group, files: output };
  });
  await addEntries(fresh, busy);
}

async function addEntries(fresh: Entry[], busy: Busy): Promise<void> {
  entries.push(...fresh);
  changed();
  for (const entry of fresh) {
    await busy(`reading ${entry.group.label}`, async () => {
      entry.view = await describeModel(entry.files, entry.group);
    });
    select(entry);
  }
}
