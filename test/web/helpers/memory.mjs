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

/** The pids of Chromium's processes of one type ("renderer": one per site, ours is the only page; "browser"). */
async function processPids(browserSession, type) {
  const { processInfo } = await browserSession.send("SystemInfo.getProcessInfo");
  return processInfo.filter((p) => p.type === type).map((p) => p.id);
}

/**
 * Samples every `intervalMs` until stopped; `stop()` returns the peaks in MiB: the JS heap used
 * and total of the page's main thread, and the renderer's resident memory: the largest sampled
 * VmRSS (with its anonymous and shared parts, RssAnon / RssShmem) and VmHWM. The kernel updates
 * VmHWM only when memory is unmapped, not when an allocator returns pages with madvise, so it can
 * lag behind a sampled RSS; the peak reported is the larger of the two. The tab is one renderer
 * process (a spare one may exist), so figures are per process, the largest, never a sum.
 */
export async function startMemorySampler(webPage, browser, intervalMs = 200) {
  const pageSession = await webPage.context.newCDPSession(webPage.page);
  await pageSession.send("Performance.enable");
  const browserSession = await browser.newBrowserCDPSession();
  const pids = await processPids(browserSession, "renderer");
  const browserPids = await processPids(browserSession, "browser");
  const peak = { jsHeapUsed: 0, jsHeapTotal: 0, rss: 0, anon: 0, shmem: 0, browserRss: 0, browserAnon: 0, browserFile: 0, browserShmem: 0, samples: 0 };
  const browserKiB = (field) => Math.max(0, ...browserPids.map((pid) => statusKiB(pid, field))) * 1024;
  const largest = (field) => Math.max(0, ...pids.map((pid) => statusKiB(pid, field))) * 1024;
  const rssBefore = largest("VmRSS");
  let running = true;
  const sample = async () => {
    peak.rss = Math.max(peak.rss, largest("VmRSS"));
    peak.anon = Math.max(peak.anon, largest("RssAnon"));
    peak.shmem = Math.max(peak.shmem, largest("RssShmem"));
    peak.browserRss = Math.max(peak.browserRss, browserKiB("VmRSS"));
    peak.browserAnon = Math.max(peak.browserAnon, browserKiB("RssAnon"));
    peak.browserFile = Math.max(peak.browserFile, browserKiB("RssFile"));
    peak.browserShmem = Math.max(peak.browserShmem, browserKiB("RssShmem"));
    const { metrics } = await pageSession.send("Performance.getMetrics");
    const metric = (name) => metrics.find((m) => m.name === name)?.value ?? 0;
    peak.jsHeapUsed = Math.max(peak.jsHeapUsed, metric("JSHeapUsedSize"));
    peak.jsHeapTotal = Math.max(peak.jsHeapTotal, metric("JSHeapTotalSize"));
    peak.samples++;
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
        rendererPeakMiB: mib(Math.max(hwm, peak.rss)),
        rendererHwmMiB: mib(hwm),
        rendererRssSampledMiB: mib(peak.rss),
        rendererRssAnonSampledMiB: mib(peak.anon),
        rendererRssShmemSampledMiB: mib(peak.shmem),
        rendererRssBeforeMiB: mib(rssBefore),
        browserProcessRssSampledMiB: mib(peak.browserRss),
        browserProcessRssAnonSampledMiB: mib(peak.browserAnon),
        browserProcessRssFileSampledMiB: mib(peak.browserFile),
        browserProcessRssShmemSampledMiB: mib(peak.browserShmem),
        jsHeapUsedMiB: mib(peak.jsHeapUsed),
        jsHeapTotalMiB: mib(peak.jsHeapTotal),
        samples: peak.samples,
        intervalMs,
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
