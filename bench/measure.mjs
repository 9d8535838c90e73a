// What the benches share: the page-cache policy before a run and the measurement of one command.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";

const python = "/usr/bin/python3";
const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

// Cache policy: every run starts with the input in the page cache and no dirty pages left by the
// previous run (sync, then drop caches when allowed, then read the input once).
let canDrop = true;
export function prepare(input) {
  spawnSync("sync");
  if (canDrop) {
    try {
      writeFileSync("/proc/sys/vm/drop_caches", "3");
    } catch {
      canDrop = false;
    }
  }
  const fd = openSync(input, "r");
  const buf = Buffer.allocUnsafe(16 << 20);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

/**
 * Runs a command, returning wall seconds and, from getrusage of the child: peak RSS in MiB,
 * minor page faults and user/sys CPU seconds. `usageFile` is scratch space for the figures.
 */
export function measure(command, usageFile) {
  const full = timeBin ? [timeBin, "-f", "%M %R %U %S", "-o", usageFile, ...command] : [python, "-c", RUSAGE_WRAPPER, usageFile, ...command];
  const start = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 24 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${command.join(" ")} failed (${r.status}): ${r.stderr.toString().trim().split("\n").slice(-3).join(" | ")}`);
  const [kib, minflt, user, sys] = readFileSync(usageFile, "utf8").trim().split("\n").pop().trim().split(/\s+/).map(Number);
  return { seconds, rss: kib / 1024, minflt, user, sys };
}

const RUSAGE_WRAPPER = `
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{u.ru_maxrss} {u.ru_minflt} {u.ru_utime:.2f} {u.ru_stime:.2f}")
sys.exit(rc)`;

/** The 1-minute load average now. */
export const loadNow = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
