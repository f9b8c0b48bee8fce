/**
 * The CLI's heap setting, made before anything else is loaded: V8's
 * `--optimize-for-size`, which collects garbage sooner instead of growing
 * the heap. A run over many hosts makes far more garbage (parsing the config
 * and state, one SSH handshake per host) than it keeps: at 1,000 simulated
 * hosts a no-op plan held about 70 MB live at its peak while the process
 * grew to 240 MB; with the setting it stays near 140 MB, for roughly 10 %
 * more CPU time spent collecting (bench/results/sim.md). Node only: Bun and
 * Deno (and the compiled binary) manage their heaps their own way.
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";

if (process.versions.bun === undefined && !("Deno" in globalThis)) setFlagsFromString("--optimize-for-size");
