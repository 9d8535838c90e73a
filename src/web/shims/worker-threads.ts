// node:worker_threads in the page: no kernel workers (the pool sees a non-file: URL and makes none).
import { refuse } from "./unavailable.js";

export class Worker {
  constructor() {
    refuse("worker threads")();
  }
}
export const parentPort = null;
