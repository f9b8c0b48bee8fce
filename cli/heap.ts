/**
 * How the CLI's heap grows. A run over many hosts makes far more garbage
 * while it reads and checks (parsing the config and state, one SSH handshake
 * per host) than it keeps: at 1,000 simulated hosts a no-op plan held about
 * 70 MB live at its peak while the process grew to 240 MB. V8's
 * `--optimize-for-size` collects sooner instead of growing the heap (about
 * 140 MB), for more CPU time spent collecting. That time grows with what is
 * live, so an apply, which holds every connection from its check to its end,
 * turns it off: its check of 1,000 hosts took 1.7x as long with it on, and
 * its steps 2-3x; so does validate, where all it reads stays live. Node
 * only: Bun and Deno (and the compiled binary) manage their heaps their own
 * way.
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";

const NODE = process.versions.bun === undefined && !("Deno" in globalThis);

/** Collect garbage sooner (plan, status) or grow the heap as V8 does by default (apply, validate). */
export function leanHeap(on: boolean): void {
  if (NODE) setFlagsFromString(on ? "--optimize-for-size" : "--no-optimize-for-size");
}
