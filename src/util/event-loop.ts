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
