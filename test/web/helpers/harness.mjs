// The browser side of the web page tests and bench/web-memory.mjs (plain ESM so the bench can
// import it too): a local server for dist/web, Debian's Chromium driven by playwright-core, a
// save-picker stub backed by the origin-private file system, and a page wrapper that records
// every request and every console/page error.
import { spawn } from "node:child_process";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { basename, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const CHROMIUM = "/usr/bin/chromium";
export const WEB_DIR = join(ROOT, "dist", "web");
export const WEB_INDEX = join(WEB_DIR, "index.html");
const CLI = join(ROOT, "dist", "cli", "main.js");
const SERVE = join(ROOT, "dist", "cli", "serve.js");

/** Where the tests put what people look at (screenshots); gitignored. */
export const TEST_OUTPUT = join(ROOT, "test-output", "web");

/** A server for dist/web on 127.0.0.1: `weightbridge serve` once the CLI has it, else a minimal static one. */
export async function startServer() {
  return existsSync(SERVE) ? startCliServer() : startStaticServer(WEB_DIR);
}

/** `weightbridge serve --port 0`; the URL is the first http://127.0.0.1:PORT it prints. */
function startCliServer() {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error(`weightbridge serve printed no URL in 90 s:\n${output}`)), 90_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill();
      reject(error);
    };
    const onData = (chunk) => {
      output += chunk;
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(output)?.[0];
      if (!url) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.stderr.off("data", onData);
      child.stdout.resume();
      child.stderr.resume();
      const server = {
        url: `${url}/`,
        /** Why the server stopped, when it stopped on its own (shown when a page cannot load). */
        stopped: undefined,
        close: () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once("exit", () => done());
          child.kill();
        }),
      };
      child.once("exit", (code, signal) => {
        server.stopped = `weightbridge serve exited (code ${code}, signal ${signal}); its output:\n${output}`;
      });
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      resolve(server);
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => fail(new Error(`weightbridge serve exited (${code}) before printing a URL:\n${output}`)));
  });
}

const MIME = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml",
  ".png": "image/png", ".ico": "image/x-icon", ".map": "application/json",
};

export function startStaticServer(root) {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    let file = normalize(join(root, path));
    if (!file.startsWith(root + sep) && file !== root) return void response.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

/** Debian's Chromium, headless; playwright downloads nothing. */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}

/**
 * Replaces the File System Access pickers with ones that hand out origin-private files, so a
 * conversion in the page writes through the same `createWritable()` path a user's disk would,
 * and the test reads the bytes back. Every picked name is listed in `window.__wbSaved`.
 */
function pickerStub() {
  const saved = [];
  Object.defineProperty(window, "__wbSaved", { value: saved });
  window.showSaveFilePicker = async (options = {}) => {
    const root = await navigator.storage.getDirectory();
    const name = options.suggestedName || "output";
    await root.removeEntry(name, { recursive: true }).catch(() => undefined);
    saved.push(name);
    return root.getFileHandle(name, { create: true });
  };
  window.showDirectoryPicker = async () => {
    const root = await navigator.storage.getDirectory();
    const name = `picked-folder-${saved.length + 1}`;
    await root.removeEntry(name, { recursive: true }).catch(() => undefined);
    saved.push(`${name}/`);
    return root.getDirectoryHandle(name, { create: true });
  };
}

/** A browser without the File System Access pickers (as Firefox and Safari are). */
function noPickers() {
  Object.defineProperty(window, "__wbSaved", { value: [] });
  window.showSaveFilePicker = undefined;
  window.showDirectoryPicker = undefined;
}

/**
 * A page of the running server with its request log and error log, and the picker stub (or,
 * with `pickers: false`, no pickers at all: outputs are then downloads).
 */
export async function openPage(browser, server, { viewport = { width: 1280, height: 800 }, pickers = true } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  await context.addInitScript(pickers ? pickerStub : noPickers);
  const page = await context.newPage();
  const web = new WebPage(context, page, server.url);
  try {
    await web.load();
  } catch (error) {
    if (server.stopped) error.message += `\n${server.stopped}`;
    throw error;
  }
  return web;
}

export class WebPage {
  constructor(context, page, url) {
    this.context = context;
    this.page = page;
    this.url = url;
    /** Every request the page made: { url, afterReady }. data: and blob: URLs are not network requests. */
    this.requests = [];
    /** Console errors and uncaught page errors, as text. */
    this.problems = [];
    this.ready = false;
    page.on("request", (request) => {
      const url = request.url();
      if (!/^(data|blob):/.test(url)) this.requests.push({ url, afterReady: this.ready });
    });
    page.on("console", (message) => {
      if (message.type() === "error") this.problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => this.problems.push(`page error: ${error.message}`));
  }

  async load() {
    await this.page.goto(this.url, { waitUntil: "load" });
    await this.page.waitForFunction(() => window.weightbridgeReady === true, null, { timeout: 60_000 });
    this.ready = true;
  }

  /** Requests made after `weightbridgeReady` (there must be none). */
  requestsAfterLoad() {
    return this.requests.filter((r) => r.afterReady).map((r) => r.url);
  }

  /** Picks files with the page's file input (several at once when given several). */
  async pick(paths) {
    await this.page.setInputFiles("#pick-files", paths);
  }

  /** Picks a folder with the folder input. */
  async pickFolder(path) {
    await this.page.setInputFiles("#pick-folder", path);
  }

  /** Drops files on #drop the way a drag from the desktop does: dragenter, dragover, drop with a DataTransfer. */
  async drop(paths) {
    const files = await Promise.all(paths.map(async (path) => ({ name: basename(path), base64: (await readFile(path)).toString("base64") })));
    const transfer = await this.page.evaluateHandle((list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
      return dt;
    }, files);
    for (const type of ["dragenter", "dragover", "drop"]) await this.page.dispatchEvent("#drop", type, { dataTransfer: transfer });
    await transfer.dispose();
  }

  /**
   * Waits for the model entry `name` in #models to be read (its format shown, not "reading…"),
   * makes it the shown model, and waits until the page shows it (#model-name, #format).
   */
  async show(name) {
    const entry = this.page.locator(`#models li[data-model="${cssEscape(name)}"]`).last();
    await entry.waitFor({ timeout: 60_000 });
    // The list is re-rendered as models are read, so look the entry up afresh each time.
    await this.page.waitForFunction(
      (wanted) => {
        const li = [...document.querySelectorAll("#models li[data-model]")].filter((item) => item.getAttribute("data-model") === wanted).at(-1);
        const format = (li?.querySelector(".model-format")?.textContent ?? "").trim();
        return format !== "" && !format.startsWith("reading");
      },
      name,
      { timeout: 120_000 },
    );
    await entry.locator("button").first().click();
    await this.page.waitForFunction(
      (wanted) => (document.querySelector("#model-name")?.textContent ?? "").trim() === wanted && (document.querySelector("#format")?.textContent ?? "").trim() !== "",
      name,
      { timeout: 60_000 },
    );
  }

  /** Shows the model of this file, picking it first unless the list has it already. */
  async showFile(path) {
    const name = basename(path);
    if ((await this.page.locator(`#models li[data-model="${cssEscape(name)}"]`).count()) === 0) await this.pick([path]);
    await this.show(name);
  }

  /** Chooses the option of a model select (#diff-a, #verify-source ...) whose value or text is the model's name. */
  async choose(selector, name) {
    const value = await this.page.$eval(selector, (select, wanted) => {
      const options = [...select.options];
      const option = options.find((o) => o.value === wanted || o.text.trim() === wanted) ?? options.find((o) => o.text.includes(wanted));
      return option?.value;
    }, name);
    if (value === undefined) throw new Error(`${selector} has no option for ${name}`);
    await this.page.selectOption(selector, value);
  }

  /** An element's text (textContent: also what sits in a closed <details>), trimmed. */
  text(selector) {
    return this.page.locator(selector).first().textContent().then((t) => (t ?? "").trim());
  }

  /** The tensor table as the CLI's JSON gives it: name, dtype and shape (parsed from "[a, b]"). */
  tensorRows() {
    return this.page.$$eval("#tensors tbody tr[data-name]", (rows) =>
      rows.filter((row) => !row.hidden && getComputedStyle(row).display !== "none").map((row) => ({
        name: row.getAttribute("data-name"),
        dtype: row.querySelector("td.dtype")?.textContent?.trim(),
        shape: JSON.parse(row.querySelector("td.shape")?.textContent?.trim() || "null"),
      })),
    );
  }

  /**
   * Converts the shown model in the page: chooses the target, map and dtype, ticks the boxes,
   * presses #convert (or Enter on it, by keyboard) and waits for #convert-status to settle.
   * Returns its data-state ("done" | "error").
   */
  async convert({ to, map = "", dtype = "", quantize = "", keepUnmapped = false, verifyAfter = false, template, byKeyboard = false }) {
    await this.page.selectOption("select#to", to);
    await this.page.selectOption("select#map", map);
    await this.page.selectOption("select#dtype", dtype);
    await this.page.selectOption("select#quantize", quantize);
    await this.page.setChecked("#keep-unmapped", keepUnmapped);
    await this.page.setChecked("#verify-after", verifyAfter);
    if (template) await this.page.setInputFiles("input#template", template);
    const before = await this.page.evaluate(() => window.__wbSaved.length);
    await this.page.evaluate(() => document.querySelector("#convert-status")?.removeAttribute("data-state"));
    if (byKeyboard) {
      await this.page.focus("#convert");
      await this.page.keyboard.press("Enter");
    } else {
      await this.page.click("#convert");
    }
    await this.page.waitForSelector('#convert-status[data-state="done"], #convert-status[data-state="error"]', { state: "attached", timeout: 170_000 });
    const state = await this.page.getAttribute("#convert-status", "data-state");
    const saved = await this.page.evaluate((from) => window.__wbSaved.slice(from), before);
    return { state, saved };
  }

  /** The names the picker stub handed out (files, and folders ending in "/"). */
  savedNames() {
    return this.page.evaluate(() => [...window.__wbSaved]);
  }

  /** Bytes of a file the page wrote through the picker stub ("name" or "folder/name"). */
  async readSaved(path) {
    const base64 = await this.page.evaluate(async (parts) => {
      let dir = await navigator.storage.getDirectory();
      for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part);
      const file = await (await dir.getFileHandle(parts.at(-1))).getFile();
      const bytes = new Uint8Array(await file.arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    }, path.split("/").filter(Boolean));
    return Buffer.from(base64, "base64");
  }

  /** Names of the files inside a folder the page wrote through the directory picker stub. */
  listSavedFolder(folder) {
    return this.page.evaluate(async (name) => {
      const walk = async (dir, prefix) => {
        const out = [];
        for await (const [entry, handle] of dir.entries()) {
          if (handle.kind === "directory") out.push(...(await walk(handle, `${prefix}${entry}/`)));
          else out.push(`${prefix}${entry}`);
        }
        return out;
      };
      const root = await navigator.storage.getDirectory();
      return (await walk(await root.getDirectoryHandle(name.replace(/\/$/, "")), "")).sort();
    }, folder);
  }

  close() {
    return this.context.close();
  }
}

function cssEscape(value) {
  return value.replace(/["\\]/g, "\\$&");
}
