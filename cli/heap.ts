/**
 * How the CLI's heap grows. A run over many hosts makes far more garbage
 * while it reads and checks (parsing the config and state, one SSH handshake
 * per host) than it keeps: at 1,000 simulated hosts a no-op plan held about
 * 70 MB live at its peak while the process grew to 240 MB. V8's
 * `--optimize-for-size` collects sooner instead of growing the heap (about
 * 140 MB), for more CPU time spent collecting; that time grows with what is
 * live, so an apply turns it off before its steps, which hold every
 * connection and the state (an apply to 1,000 hosts took 2-3x as long with it
 * on). Node only: Bun and Deno (and the compiled binary) manage their heaps
 * their own way.
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";

const NODE = process.versions.bun === undefined && !("Deno" in globalThis);

/** Collect garbage sooner (reading and checking) or grow the heap as V8 does by default (applying). */
export function leanHeap(on: boolean): void {
  if (NODE) setFlagsFromString(on ? "--optimize-for-size" : "--no-optimize-for-size");
}
