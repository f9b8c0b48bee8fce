/**
 * Runs the CLI in-process with captured output, as the tests' runtime
 * (Node or Bun) would run it for a user.
 */
import { PassThrough } from "node:stream";
import { main } from "../../cli/main.ts";

/** Output and exit code of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `berth ARGS` in `cwd`, without a terminal. */
export async function runCli(
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const stdin = new PassThrough();
  stdin.end();
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin,
    env: { ...process.env, NO_COLOR: "1", ...env },
    cwd,
  });
  return { code, stdout, stderr };
}
