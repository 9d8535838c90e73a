#!/usr/bin/env node
// Web page memory bench (#18): `node bench/web-memory.mjs [--input FILE] [--to FORMAT] [--no-record]`.
// Converts bench/data/main.pth (1.24 GB, written by real torch through bench/generate.py; or
// --input) to safetensors in the built page, in Debian's Chromium, through the File System
// Access path (the save picker stubbed with an OPFS file, so the page streams to disk as it
// would to a user's file), and reads the tab's memory through the DevTools protocol while it
// runs. Checks the output against the CLI's (same size, same bytes at sampled offsets) and
// appends a dated section to bench/RESULTS.md. Target: the tab under 500 MB.
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { basename, join } from "node:path";
import { CHROMIUM, ROOT, WEB_INDEX, launchBrowser, openPage, startServer } from "../test/web/helpers/harness.mjs";
import { compareSampled, startMemorySampler } from "../test/web/helpers/memory.mjs";

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const data = join(ROOT, "bench", "data");
const input = option("input", join(data, "main.pth"));
const to = option("to", "safetensors");
const extension = { safetensors: ".safetensors", pytorch: ".pt", paddle: ".pdparams" }[to] ?? `.${to}`;
const record = !argv.includes("--no-record");
const cli = join(ROOT, "dist", "cli", "main.js");

for (const [path, what] of [
  [CHROMIUM, "Debian's chromium"],
  [WEB_INDEX, "the built page (npm run build)"],
  [cli, "the built CLI"],
]) {
  if (!existsSync(path)) {
    console.error(`web-memory: ${path} is missing: needs ${what}`);
    process.exit(2);
  }
}
if (!existsSync(input)) {
  if (input !== join(data, "main.pth")) throw new Error(`${input} does not exist`);
  mkdirSync(data, { recursive: true });
  console.error("web-memory: generating bench/data/main.pth with torch (once) …");
  const made = spawnSync("/usr/bin/python3", [join(ROOT, "bench", "generate.py"), "main", input], { stdio: "inherit" });
  if (made.status !== 0) process.exit(1);
}

const reference = join(data, `web-memory-cli${extension}`);
console.error(`web-memory: the CLI's conversion of ${basename(input)} → ${to} …`);
const converted = spawnSync(process.execPath, [cli, "convert", input, reference, "--to", to, "--force", "-q"], { stdio: "inherit" });
if (converted.status !== 0) process.exit(1);

const server = await startServer();
const browser = await launchBrowser();
let result;
try {
  const page = await openPage(browser, server);
  const sampler = await startMemorySampler(page, browser);
  const started = Date.now();
  await page.pick([input]);
  await page.show(basename(input));
  const { state, saved } = await page.convert({ to });
  const seconds = (Date.now() - started) / 1000;
  const memory = await sampler.stop();
  if (state !== "done") throw new Error(`the page's conversion ended in state ${state}: ${await page.text("#error")}`);
  const check = await compareSampled(page, saved[0], reference);
  result = { ...memory, seconds, check, requestsAfterLoad: page.requestsAfterLoad(), problems: page.problems };
  await page.close();
} finally {
  await browser.close();
  await server.close();
}
console.log(JSON.stringify(result, null, 2));
if (record) appendFileSync(join(ROOT, "bench", "RESULTS.md"), section(result));

function section(r) {
  const inputMiB = Math.round(statSync(input).size / 2 ** 20);
  const chromium = spawnSync(CHROMIUM, ["--version"], { encoding: "utf8" }).stdout.trim();
  const verdict = r.rendererPeakMiB * 1.048576 < 500 ? "under" : "OVER";
  return `
## Web page memory, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC (\`node bench/web-memory.mjs\`)

- ${chromium}, headless, driven by playwright-core; ${cpus().length} × ${cpus()[0]?.model}, RAM ${Math.round(totalmem() / 2 ** 30)} GiB; load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}
- input: ${basename(input)} (${inputMiB} MiB, torch.save zip) picked with the file input; converted to ${to} in the page; output written through \`showSaveFilePicker\` → \`createWritable()\` (stubbed with an OPFS file handle)
- output check: ${r.check.sameSize ? "same size as" : "DIFFERENT size from"} the CLI's (${r.check.size} bytes), ${r.check.windowsCompared - r.check.windowsDiffering} of ${r.check.windowsCompared} sampled 64 KiB windows equal; requests after load: ${r.requestsAfterLoad.length}; console/page errors: ${r.problems.length}

| measure (DevTools protocol / procfs, the tab's renderer process, pid ${r.rendererPids.join("/")}) | MiB |
|---|---:|
| **renderer peak resident memory** (the larger of VmHWM and the largest sample) | **${r.rendererPeakMiB}** |
| VmHWM at the end | ${r.rendererHwmMiB} |
| VmRSS, largest of ${r.samples} samples every ${r.intervalMs} ms | ${r.rendererRssSampledMiB} |
| of which anonymous (RssAnon, largest sample) | ${r.rendererRssAnonSampledMiB} |
| of which shared memory (RssShmem, largest sample: buffers shared with the browser process) | ${r.rendererRssShmemSampledMiB} |
| VmRSS before the file was picked (page loaded) | ${r.rendererRssBeforeMiB} |
| JS heap used, peak (Performance.getMetrics JSHeapUsedSize, main thread) | ${r.jsHeapUsedMiB} |
| JS heap total, peak (JSHeapTotalSize) | ${r.jsHeapTotalMiB} |
| (not the tab) Chromium's browser process, VmRSS, largest sample: it serves the tab's Blob.slice reads and writes the OPFS file | ${r.browserProcessRssSampledMiB} |
| (not the tab) browser process RssAnon / RssFile / RssShmem, largest samples | ${r.browserProcessRssAnonSampledMiB} / ${r.browserProcessRssFileSampledMiB} / ${r.browserProcessRssShmemSampledMiB} |

The tab's peak is ${r.rendererPeakMiB} MiB (${Math.round(r.rendererPeakMiB * 1.048576)} MB) for a ${inputMiB} MiB checkpoint: ${verdict} the 500 MB target. Wall time ${r.seconds.toFixed(1)} s from pick to done (a shared machine: for orientation only).
`;
}
