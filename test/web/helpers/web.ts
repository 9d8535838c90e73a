import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { REQUIRE_INTEROP } from "../../helpers/python.js";
// @ts-expect-error plain ESM shared with bench/web-memory.mjs, no type declarations
import { CHROMIUM, WEB_INDEX, launchBrowser, openPage, startServer } from "./harness.mjs";

/**
 * The browser tests need Debian's Chromium and the built page. Locally they skip when either is
 * missing; with WEIGHTBRIDGE_REQUIRE_INTEROP=1 (CI) a missing one fails the file instead.
 */
export function webPageTestable(): boolean {
  const missing = [CHROMIUM, WEB_INDEX].filter((path) => !existsSync(path));
  if (missing.length && REQUIRE_INTEROP) throw new Error(`WEIGHTBRIDGE_REQUIRE_INTEROP=1 but ${missing.join(" and ")} is missing`);
  return missing.length === 0;
}

/** What harness.mjs's WebPage offers (typed loosely: it is plain JS). */
export interface WebPage {
  page: import("playwright-core").Page;
  requests: { url: string; afterReady: boolean }[];
  problems: string[];
  /** Set by a test that provokes an error on purpose: console errors are then not a failure. */
  allowProblems?: boolean;
  requestsAfterLoad(): string[];
  pick(paths: string[]): Promise<void>;
  pickFolder(path: string): Promise<void>;
  drop(paths: string[]): Promise<void>;
  show(name: string): Promise<void>;
  showFile(path: string): Promise<void>;
  choose(selector: string, name: string): Promise<void>;
  text(selector: string): Promise<string>;
  tensorRows(): Promise<{ name: string; dtype: string; shape: number[] }[]>;
  convert(options: {
    to: string;
    map?: string;
    dtype?: string;
    quantize?: string;
    keepUnmapped?: boolean;
    verifyAfter?: boolean;
    template?: string;
    byKeyboard?: boolean;
  }): Promise<{ state: string; saved: string[] }>;
  savedNames(): Promise<string[]>;
  readSaved(path: string): Promise<Buffer>;
  listSavedFolder(folder: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * One server and one browser for the test file; `open()` gives a fresh page (its own context, so
 * its own OPFS and logs), `shared()` the file's one long-lived page (loading the 6 MB bundle
 * takes seconds on a loaded 2-core machine, so read-only tests share it). After each test every page opened in it must have made no request
 * after load, none to another origin, and logged no error (unless it set allowProblems).
 */
export function useWebPage() {
  let server: { url: string; close(): Promise<void> } | undefined;
  let browser: { close(): Promise<void> } | undefined;
  let opened: WebPage[] = [];
  let shared: WebPage | undefined;
  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  afterEach(async () => {
    const pages = opened;
    opened = [];
    for (const web of shared ? [...pages, shared] : pages) {
      const origin = new URL(server!.url).origin;
      expect(web.requestsAfterLoad(), "requests after the page was ready").toEqual([]);
      expect(
        web.requests.map((r) => r.url).filter((url) => new URL(url).origin !== origin),
        "requests to other origins",
      ).toEqual([]);
      if (!web.allowProblems) expect(web.problems, "console errors and page errors").toEqual([]);
      if (web !== shared) await web.close();
    }
  });
  afterAll(async () => {
    await shared?.close();
    await browser?.close();
    await server?.close();
  });
  return {
    async open(options?: { viewport?: { width: number; height: number }; pickers?: boolean }): Promise<WebPage> {
      const web = (await openPage(browser, server, options)) as WebPage;
      opened.push(web);
      return web;
    },
    /** One page kept for all the tests of the file that use it (models accumulate in its list). */
    async shared(): Promise<WebPage> {
      shared ??= (await openPage(browser, server)) as WebPage;
      return shared;
    },
  };
}

/** `weightbridge inspect --json FILE` as the CLI gives it. */
export function cliInspect(path: string): { format: string; tensors: { name: string; dtype: string; shape: number[] }[] } {
  const result = runCli(["inspect", "--json", path]);
  if (result.code !== 0) throw new Error(`inspect ${path} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** The CLI table's columns of each tensor, in file order: what the page's table must show. */
export function cliRows(path: string) {
  return cliInspect(path).tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
}

export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "web-"));
}

/** Writes what the page saved to a file on disk (to compare with the CLI or pick it again). */
export function writeScratch(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
