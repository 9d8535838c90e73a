/** Bytes of synchronous I/O between two turns of the event loop. */
const TURN_EVERY = 16 << 20;

/**
 * For loops of synchronous I/O, which never wait for the event loop: the function returned counts
 * the bytes moved and, once every `every` of them, gives the loop a turn (signals, progress, a
 * background flush finishing) through the promise it then returns.
 */
export function eventLoopTurns(every = TURN_EVERY): (bytes: number) => Promise<void> | undefined {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every) return undefined;
    since = 0;
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}

/** Synchronous work between two turns of the event loop, at most (about). */
const TURN_AFTER_MS = 20;
let lastTurn = 0;
let calls = 0;

/**
 * For long loops of synchronous work (10^6 tiny tensors, a 2M-entry index): a signal handler
 * (Ctrl-C, SIGTERM: removing temporaries) runs only when the event loop turns, and a loop whose
 * awaits all resolve at once never lets it. Cheap to call per item: every ~20 ms of work it
 * returns a promise that resolves on the next turn; otherwise undefined (await nothing).
 */
export function turnIfDue(): Promise<void> | undefined {
  if ((++calls & 127) !== 0) return undefined;
  return turnIfLate();
}

/** turnIfDue for loops of a few long steps (the mapping's passes over 10^6 tensors): looks at the clock every call. */
export function turnIfLate(): Promise<void> | undefined {
  const now = performance.now();
  if (now - lastTurn < TURN_AFTER_MS) return undefined;
  lastTurn = now;
  return new Promise<void>((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
