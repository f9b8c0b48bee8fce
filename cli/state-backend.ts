/**
 * Which state backend a command uses: `--state` (a file path, or
 * `etcd://host1:2379,host2:2379/prefix`) and the config's `backend:`
 * section (credentials, TLS files, lock TTL), read on its own so commands
 * that need no containers (`berth state pull`) work without the rest.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { backendFromDocument, type BackendSpec, chooseBackend } from "../core/backend-config.ts";
import { BerthError } from "../core/errors.ts";
import { parseDocument } from "../core/serialize.ts";
import type { HeldLock, StateBackend } from "../store/backend.ts";
import { openBackend } from "../store/open-backend.ts";
import type { GlobalOptions } from "./commands.ts";
import type { CliIO } from "./io.ts";

/**
 * The backend `--state` (or the config's `backend:`) names.
 *
 * @param target Another `--state`-like value to open instead (`state migrate --to`).
 */
export async function stateBackend(io: CliIO, opts: GlobalOptions, target?: string): Promise<StateBackend> {
  return openBackend(await backendSpec(io, opts, target));
}

/** Runs `use` with the state backend of `opts`, closed afterwards. */
export async function withBackend<T>(
  io: CliIO,
  opts: GlobalOptions,
  use: (backend: StateBackend) => Promise<T>,
): Promise<T> {
  const backend = await stateBackend(io, opts);
  try {
    return await use(backend);
  } finally {
    await backend.close();
  }
}

/**
 * Opens the backend and takes its lock for `command`, waiting up to
 * `--lock-timeout`; the backend is closed again when the lock cannot be had.
 *
 * @param target Another `--state`-like value to open instead (`state migrate --to`).
 */
export async function lockedBackend(
  io: CliIO,
  opts: GlobalOptions,
  command: string,
  warn: (message: string) => void,
  target?: string,
): Promise<{ backend: StateBackend; lock: HeldLock }> {
  const backend = await stateBackend(io, opts, target);
  try {
    const lock = await backend.lock({
      command,
      warn,
      ...(opts.lockTimeout === undefined ? {} : { waitMs: opts.lockTimeout }),
    });
    return { backend, lock };
  } catch (err) {
    await backend.close();
    throw err;
  }
}

/** The spec behind {@link stateBackend}, file paths resolved against the working directory. */
export async function backendSpec(io: CliIO, opts: GlobalOptions, target?: string): Promise<BackendSpec> {
  const file = resolve(io.cwd, opts.config);
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    // No config: fine for the state commands, unless it was named explicitly.
    if (opts.configGiven === true) {
      throw new BerthError("VALIDATION", `Cannot read config file "${opts.config}": ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  // Without the word, there is no backend: section to read (nor an escaped one), and parsing a large config
  // twice (here and for its containers) cost as much as the rest of a plan of 1,000 containers.
  const fromConfig = text === undefined || (!text.includes("backend") && !text.includes("\\"))
    ? undefined
    : backendFromDocument(parseDocument(text, opts.config), opts.config, {
      env: io.env,
      baseDir: dirname(file),
    });
  const spec = chooseBackend(target ?? opts.state, target !== undefined || opts.stateGiven === true, fromConfig);
  if (!("file" in spec)) {
    if (opts.stateFormat !== undefined) {
      throw new BerthError("VALIDATION", "--state-format applies to a state file, not to etcd; drop it");
    }
    return spec;
  }
  return { file: resolve(io.cwd, spec.file), ...(opts.stateFormat === undefined ? {} : { format: opts.stateFormat }) };
}
