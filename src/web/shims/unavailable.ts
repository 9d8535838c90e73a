import { WeightbridgeError } from "../../errors.js";

/** What a file-system call says in the page: the page reads only the files you give it. */
export function unavailable(what: string): WeightbridgeError {
  return new WeightbridgeError("unsupported", `${what} is not available in the browser (the page reads only the files you drop or pick)`);
}

/** A function that throws `unavailable(name)`, for node built-ins the page never needs. */
export function refuse(name: string): (...args: unknown[]) => never {
  return () => {
    throw unavailable(name);
  };
}

/** The same for promise-returning functions: they reject instead of throwing. */
export function refuseAsync(name: string): (...args: unknown[]) => Promise<never> {
  return async () => {
    throw unavailable(name);
  };
}
