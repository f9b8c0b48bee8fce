#!/usr/bin/env node
/**
 * The `berth` command. Usage: `berth plan`, `berth apply`, `berth status`,
 * `berth destroy`, `berth validate`; `berth --help` for details.
 *
 * @module
 */
import { leanHeap } from "./cli/heap.ts";
import { finished, handleInterrupts } from "./cli/interrupt.ts";
import { processIO } from "./cli/io.ts";
import { main } from "./cli/main.ts";

leanHeap(true);
handleInterrupts();
const code = await main(process.argv.slice(2), processIO());
finished(code);
process.exitCode = code;
