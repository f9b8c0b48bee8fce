#!/usr/bin/env node
/**
 * The `berth` command. Usage: `berth plan`, `berth apply`, `berth status`,
 * `berth destroy`, `berth validate`; `berth --help` for details.
 *
 * @module
 */
import "./cli/heap.ts"; // first: it sets how the heap grows
import { finished, handleInterrupts } from "./cli/interrupt.ts";
import { processIO } from "./cli/io.ts";
import { main } from "./cli/main.ts";

handleInterrupts();
const code = await main(process.argv.slice(2), processIO());
finished(code);
process.exitCode = code;
