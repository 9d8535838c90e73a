// Memory of a page while it works, read through the DevTools protocol: the page's JS heap
// (Performance.getMetrics) and the resident memory of Chromium's renderer processes (their pids
// from SystemInfo.getProcessInfo, their VmRSS / VmHWM from /proc). Shared by
// bench/web-memory.mjs and the bounded-memory test.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";

const MiB = 1024 * 1024;

/** Kilobytes of a /proc/<pid>/status field (VmRSS, VmHWM), or 0 when the process is gone. */
function statusKiB(pid, field) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pids of the browser's renderer processes (one per site; ours is the only page). */
async function rendererPids(browserSession) {
  const { processInfo } = await browserSession.send("SystemInfo.getProcessInfo");
  return processInfo.filter((p) => p.type === "renderer").map((p) => p.id);
}

/**
 * Samples every `intervalMs` until stopped; `stop()` returns the peaks in MiB: the JS heap used
 * and total of the page's main thread, the renderer's sampled RSS, and its kernel-kept high-water
 * mark (VmHWM, the true peak between samples), plus the renderer RSS before the work began.
 */
export async function startMemorySampler(webPage, browser, intervalMs = 200) {
  const pageSession = await webPage.context.newCDPSession(webPage.page);
  await pageSession.send("Performance.enable");
  const browserSession = await browser.newBrowserCDPSession();
  const pids = await rendererPids(browserSession);
  // The tab is one renderer process; a spare renderer may exist too, so take the largest, not the sum.
  const largest = (field) => Math.max(0, ...pids.map((pid) => statusKiB(pid, field))) * 1024;
  const rss = () => largest("VmRSS");
  const peaks = { jsHeapUsed: 0, jsHeapTotal: 0, rendererRss: 0, rendererRssBefore: rss(), samples: 0 };
  let running = true;
  const sample = async () => {
    const { metrics } = await pageSession.send("Performance.getMetrics");
    const metric = (name) => metrics.find((m) => m.name === name)?.value ?? 0;
    peaks.jsHeapUsed = Math.max(peaks.jsHeapUsed, metric("JSHeapUsedSize"));
    peaks.jsHeapTotal = Math.max(peaks.jsHeapTotal, metric("JSHeapTotalSize"));
    peaks.rendererRss = Math.max(peaks.rendererRss, rss());
    peaks.samples++;
  };
  const loop = (async () => {
    while (running) {
      await sample().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    pids,
    async stop() {
      running = false;
      await loop;
      await sample().catch(() => undefined);
      const hwm = largest("VmHWM");
      await pageSession.detach().catch(() => undefined);
      await browserSession.detach().catch(() => undefined);
      const mib = (bytes) => Math.round(bytes / MiB);
      return {
        jsHeapUsedMiB: mib(peaks.jsHeapUsed),
        jsHeapTotalMiB: mib(peaks.jsHeapTotal),
        rendererRssBeforeMiB: mib(peaks.rendererRssBefore),
        rendererRssPeakSampledMiB: mib(peaks.rendererRss),
        rendererHwmMiB: mib(hwm),
        samples: peaks.samples,
        rendererPids: pids,
      };
    },
  };
}

/**
 * Compares a big file the page saved (OPFS `name`) with a file on disk without reading either
 * whole: the sizes, and the same bytes in 64 windows of 64 KiB spread over the file.
 */
export async function compareSampled(page, name, path) {
  const size = statSync(path).size;
  const window = 65536;
  const offsets = Array.from({ length: 64 }, (_, i) => Math.floor(((size - window) * i) / 63));
  const fd = openSync(path, "r");
  const expected = offsets.map((offset) => {
    const bytes = Buffer.alloc(Math.min(window, size - offset));
    readSync(fd, bytes, 0, bytes.length, offset);
    return bytes.toString("base64");
  });
  closeSync(fd);
  const actual = await page.page.evaluate(async ({ name, offsets, window }) => {
    const file = await (await (await navigator.storage.getDirectory()).getFileHandle(name)).getFile();
    const windows = [];
    for (const offset of offsets) {
      const bytes = new Uint8Array(await file.slice(offset, offset + window).arrayBuffer());
      windows.push(btoa(String.fromCharCode(...bytes)));
    }
    return { size: file.size, windows };
  }, { name, offsets, window });
  const differing = offsets.filter((_, i) => actual.windows[i] !== expected[i]);
  return { size: actual.size, referenceSize: size, sameSize: actual.size === size, windowsCompared: offsets.length, windowsDiffering: differing.length };
}
