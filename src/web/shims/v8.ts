// node:v8 in the page: V8's flags are the browser's own.
export function setFlagsFromString(): void {}
