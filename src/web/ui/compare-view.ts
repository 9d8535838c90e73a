import { diffLines } from "../../cli/diff-text.js";
import { WeightbridgeError } from "../../errors.js";
import { diffModels, verifyModels } from "../engine/operations.js";
import { byId, el, fillSelect, setChildren } from "./dom.js";
import { allEntries, mappingChoices, onModelsChange, refOf, type Entry } from "./models.js";
import { showError, withProgress } from "./status.js";
import { verificationReport } from "./report-view.js";

const SELECTS = ["diff-a", "diff-b", "verify-source", "verify-converted"];

function chosen(id: string): Entry | undefined {
  const value = byId<HTMLSelectElement>(id).value;
  return allEntries().find((e) => e.id === value);
}

/** The model selects follow the list; A/source default to the older of the two newest, B/converted to the newest. */
function refreshSelects(): void {
  const entries = allEntries();
  const options = entries.map((e) => ({ value: e.id, label: e.group.label }));
  for (const id of SELECTS) {
    const select = byId<HTMLSelectElement>(id);
    const had = select.value !== "" && entries.some((e) => e.id === select.value);
    const fresh = select.options.length !== options.length;
    fillSelect(select, options);
    if (!had || fresh) {
      const second = id === "diff-b" || id === "verify-converted";
      const pick = entries[second ? entries.length - 1 : Math.max(0, entries.length - 2)];
      if (pick) select.value = pick.id;
    }
  }
  const two = entries.length >= 2;
  byId<HTMLButtonElement>("diff").disabled = !two;
  byId<HTMLButtonElement>("verify").disabled = !two;
}

function pair(a: string, b: string): [Entry, Entry] | undefined {
  const first = chosen(a);
  const second = chosen(b);
  if (!first || !second) {
    showError(new WeightbridgeError("usage", "give the page two models first"));
    return undefined;
  }
  return [first, second];
}

async function runDiff(): Promise<void> {
  const chosenPair = pair("diff-a", "diff-b");
  if (!chosenPair) return;
  const [a, b] = chosenPair;
  const out = byId("diff-result");
  out.dataset.state = "working";
  setChildren(out);
  const map = byId<HTMLSelectElement>("diff-map").value || undefined;
  const result = await withProgress(`comparing ${a.group.label} and ${b.group.label}`, (update) => diffModels(refOf(a), refOf(b), map, update));
  if (!result) {
    out.dataset.state = "error";
    return;
  }
  out.dataset.state = "done";
  out.dataset.equal = String(result.equal);
  const lines = diffLines(result);
  setChildren(
    out,
    el("p", { class: `diff-summary ${result.equal ? "pass" : "fail"}` }, lines.at(-1)!),
    lines.length > 1 ? el("pre", { class: "diff-lines" }, lines.slice(0, -1).join("\n")) : undefined,
  );
}

async function runVerify(): Promise<void> {
  const chosenPair = pair("verify-source", "verify-converted");
  if (!chosenPair) return;
  const [source, converted] = chosenPair;
  const out = byId("verify-result");
  out.dataset.state = "working";
  setChildren(out);
  const map = byId<HTMLSelectElement>("verify-map").value || undefined;
  const outcome = await withProgress(`verifying ${converted.group.label} against ${source.group.label}`, async () =>
    verifyModels(refOf(source), refOf(converted), map),
  );
  if (!outcome) {
    out.dataset.state = "error";
    return;
  }
  out.dataset.state = outcome.ok ? "pass" : "fail";
  setChildren(out, ...verificationReport(outcome));
}

export function setUpCompare(): void {
  fillSelect(byId("diff-map"), mappingChoices());
  fillSelect(byId("verify-map"), mappingChoices());
  onModelsChange(refreshSelects);
  refreshSelects();
  byId("diff").addEventListener("click", () => void runDiff());
  byId("verify").addEventListener("click", () => void runVerify());
}
