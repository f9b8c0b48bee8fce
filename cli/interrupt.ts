/**
 * Ctrl-C (SIGINT) and SIGTERM for the berth process: one handler for its
 * whole life, so there is no moment where the default action kills berth
 * between a command's steps. A command that can stop gracefully registers a
 * hook; without one, berth leaves with 130; once the command has finished,
 * its own exit code stands.
 *
 * @module
 */

let hook: (() => void) | undefined;
let result: number | undefined;
let installed: (() => void) | undefined;

/** Installs the process handler (the CLI entry point does, once). */
export function handleInterrupts(): void {
  const onSignal = () => {
    if (result !== undefined) process.exit(result);
    if (hook !== undefined) return hook();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  installed = onSignal;
}

/**
 * Runs a long synchronous step (reading a large config) so that an
 * interrupt ends berth at once, by the signal's default action (the shell
 * sees status 130): no handler could run before the step returns. Only
 * while no command hook is registered, since a hook has something to save.
 */
export function interruptibleAtOnce<T>(fn: () => T): T {
  const handler = installed;
  if (handler === undefined || hook !== undefined) return fn();
  process.off("SIGINT", handler);
  process.off("SIGTERM", handler);
  try {
    return fn();
  } finally {
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
  }
}

/**
 * Routes interrupts to `fn` until the returned function is called. Without
 * `handleInterrupts()` (the CLI run in-process, e.g. by tests) it has no effect.
 */
export function onInterrupt(fn: () => void): () => void {
  hook = fn;
  return () => {
    if (hook === fn) hook = undefined;
  };
}

/** The command is done: a late interrupt exits with its code. */
export function finished(code: number): void {
  result = code;
}
