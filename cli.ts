#!/usr/bin/env node
/**
 * The `berth` command. Usage: `berth plan`, `berth apply`, `berth status`,
 * `berth destroy`, `berth validate`; `berth --help` for details.
 *
 * @module
 */
import { processIO } from "./cli/io.ts";
import { main } from "./cli/main.ts";

process.exitCode = await main(process.argv.slice(2), processIO());
