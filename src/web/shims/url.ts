// node:url in the page.
export function fileURLToPath(url: URL | string): string {
  return decodeURIComponent(new URL(url).pathname);
}
