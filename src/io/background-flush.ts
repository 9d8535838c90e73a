import type { FileHandle } from "node:fs/promises";

/** Bytes written between background flushes to disk. */
const FLUSH_EVERY = 64 << 20;

export interface BackgroundFlusher {
  /** Counts bytes just written; starts a flush when enough are waiting and none is running. */
  wrote(bytes: number): void;
  /** Throws what a background flush ran into (a full disk, an I/O error). */
  check(): void;
  /** Waits for the running flush, then throws what any flush ran into. */
  settle(): Promise<void>;
}

/**
 * Asks the kernel to write a file's dirty pages back every `every` bytes, in the background
 * (fdatasync on a libuv thread, one at a time). Otherwise nothing reaches the disk until the
 * final fsync, which then waits for all of it; this way the disk works while the conversion goes
 * on and the final fsync waits only for the tail.
 */
export function backgroundFlusher(file: Pick<FileHandle, "datasync">, every = FLUSH_EVERY): BackgroundFlusher {
  let unflushed = 0;
  let running: Promise<void> | undefined;
  let failure: unknown;
  return {
    wrote(bytes: number): void {
      unflushed += bytes;
      if (running || unflushed < every) return;
      unflushed = 0;
      running = file
        .datasync()
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => {
          running = undefined;
        });
    },
    check(): void {
      if (failure !== undefined) throw failure;
    },
    async settle(): Promise<void> {
      await running;
      this.check();
    },
  };
}
