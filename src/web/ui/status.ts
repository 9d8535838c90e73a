import { errorLine } from "../../cli/output.js";
import { byId } from "./dom.js";

/** #progress and #error: one piece of long work at a time, errors as the CLI's one line. */

export function showError(e: unknown): void {
  const error = byId("error");
  error.textContent = errorLine(e);
  error.hidden = false;
}

export function clearError(): void {
  const error = byId("error");
  error.textContent = "";
  error.hidden = true;
}

export function progress(label: string): { update(done: number, total: number): void; end(): void } {
  const bar = byId<HTMLProgressElement>("progress");
  const text = byId("progress-text");
  bar.hidden = false;
  bar.removeAttribute("value");
  text.textContent = label;
  let shown = -1;
  return {
    update(done, total) {
      if (total <= 0) return;
      const percent = Math.floor((done / total) * 100);
      if (percent === shown) return;
      shown = percent;
      bar.max = 100;
      bar.value = percent;
      text.textContent = `${label} ${percent} %`;
    },
    end() {
      bar.hidden = true;
      text.textContent = "";
    },
  };
}

/** Runs one piece of work with a progress line; its error goes to #error. Resolves undefined on failure. */
export async function withProgress<T>(label: string, work: (update: (done: number, total: number) => void) => Promise<T>): Promise<T | undefined> {
  clearError();
  const line = progress(label);
  try {
    return await work(line.update);
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    line.end();
  }
}

/** withProgress for work that reports no fraction (reading a model). */
export async function busy(label: string, work: () => Promise<void>): Promise<void> {
  await withProgress(label, async () => work());
}
