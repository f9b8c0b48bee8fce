/**
 * The `berth` command line: argument parsing and error reporting around the
 * commands of `commands.ts`.
 *
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parseDuration } from "../core/duration.ts";
import { BerthError } from "../core/errors.ts";
import { VERSION } from "../version.ts";
import {
  applyCommand,
  EXIT_ERROR,
  type GlobalOptions,
  planCommand,
  statusCommand,
  validateCommand,
} from "./commands.ts";
import type { CliIO } from "./io.ts";
import { STATE_FORMATS, type StateFormat } from "../core/state-format.ts";
import { suggest } from "../core/suggest.ts";
import { completionScript, type Shell, SHELLS } from "./completion.ts";
import { jsonError, writeJson, writeJsonLine } from "./json-output.ts";
import { addCommandHelp } from "./help.ts";
import { PROGRESS_MODES, type ProgressMode } from "./progress.ts";
import { logsCommand, parseTail } from "./logs.ts";
import { initCommand } from "./init.ts";
import { type GraphFormat, parseGraphFormat } from "./plan-graph.ts";
import { DEFAULT_HOST_CONCURRENCY } from "../engine/limit.ts";
import { recoverCommand } from "./recover.ts";
import { migrateCommand, pullCommand, pushCommand, unlockCommand } from "./state-commands.ts";

/**
 * Runs the CLI with `argv` (without the runtime and script) and returns the exit code.
 * Errors are printed as one clear message, never a stack trace (unless BERTH_DEBUG is set).
 */
export async function main(argv: string[], given: CliIO): Promise<number> {
  let code = 0;
  let streaming = false; // apply/destroy --json: an error ends the NDJSON stream as one more line
  let io = given; // --no-color gives the commands an environment with NO_COLOR set
  const program = new Command("berth")
    .description("Declare containers on many hosts and make the hosts match.")
    .version(VERSION, "-V, --version")
    .option("-c, --config <file>", "config file", "config.yaml")
    .option("-s, --state <file|url>", "state file, or etcd://host1:2379,host2:2379/prefix", "state.yaml")
    .option(
      "--state-format <berth|flexkube>",
      "layout of a new state file (an existing one keeps its own)",
      parseFormat,
    )
    .option(
      "--lock-timeout <duration>",
      "wait this long (e.g. 5m) for another run's lock instead of refusing",
      parseWait,
    )
    .option(
      "--json",
      "JSON output for scripts (apply, destroy, rollback: one JSON event per line); see schema/output.schema.json",
    )
    .option("-v, --verbose", "also show the hosts reached and the SSH handshakes made")
    .option("--no-color", "no colour, even on a terminal (also NO_COLOR=1; FORCE_COLOR=1 forces it when piped)")
    .option(
      "--concurrency <hosts>",
      `hosts checked and worked on at once (default ${DEFAULT_HOST_CONCURRENCY}: 64 per core, at most 256)`,
      parseConcurrency,
    )
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const global = (): GlobalOptions => ({
    ...program.opts<GlobalOptions>(),
    configGiven: program.getOptionValueSource("config") !== "default",
    stateGiven: program.getOptionValueSource("state") !== "default",
  });

  program.hook("preAction", () => {
    if (program.opts<{ color: boolean }>().color === false) io = { ...given, env: { ...given.env, NO_COLOR: "1" } };
  });

  program.command("version").description("print berth's version and the JavaScript runtime").action(() => {
    const runtime = jsRuntime();
    if (program.opts<GlobalOptions>().json) writeJson(io, { version: VERSION, runtime });
    else io.stdout.write(`berth ${VERSION} (${runtime})\n`);
  });
  program.command("completion").description("print a shell completion script (bash, zsh or fish)")
    .argument("<shell>", SHELLS.join(", "), parseShell)
    .action((shell: Shell) => {
      io.stdout.write(completionScript(program, shell));
    });
  program.command("init").description("write a commented starter config.yaml (or --config FILE) that passes validate")
    .option("-f, --force", "overwrite the file when it exists")
    .action(async (o: { force?: boolean }) => {
      code = await initCommand(io, program.opts<GlobalOptions>().config, o.force === true);
    });
  program.command("validate").description("check the config and state files").action(async () => {
    code = await validateCommand(io, global());
  });
  program.command("plan").description("show what apply would change (exit 0: nothing, 2: changes, 1: error or blocked)")
    .addOption(new Option("-o, --out <file>", "save the plan, to apply it exactly with `berth apply FILE`"))
    .option("-t, --target <name>", "only this container (repeatable)", collect, [])
    .option("--host <name>", "only the containers on this host of hosts: (repeatable)", collect, [])
    .option(
      "--graph <format>",
      "write the plan as a graph of hosts and changes: dot (Graphviz) or mermaid",
      parseGraphFormat,
    )
    .option("--graph-file <file>", "write the --graph there (the text plan still goes to stdout)")
    .action(async (o: { out?: string; target: string[]; host: string[]; graph?: GraphFormat; graphFile?: string }) => {
      code = await planCommand(io, { ...global(), ...o });
    });
  program.command("apply").description("make the hosts match the config (asks first unless --yes)")
    .argument("[plan]", "a plan saved with `berth plan --out`; refused when hosts or state changed since")
    .option("-y, --yes", "do not ask for confirmation")
    .option("-t, --target <name>", "only this container (repeatable)", collect, [])
    .option("--host <name>", "only the containers on this host of hosts: (repeatable)", collect, [])
    .addOption(progressOption())
    .action(
      async (planFile: string | undefined, o: { yes?: boolean; target: string[]; host: string[] } & Progress) => {
        streaming = true;
        code = await applyCommand(io, { ...global(), ...o, ...(planFile === undefined ? {} : { planFile }) });
      },
    );
  program.command("destroy").description("remove every container in the state (asks first unless --yes)")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(progressOption())
    .action(async (o: { yes?: boolean } & Progress) => {
      streaming = true;
      code = await applyCommand(io, { ...global(), ...o, destroy: true });
    });
  program.command("rollback").description(
    "return containers to what they ran before the change that replaced them (asks first unless --yes)",
  )
    .argument("[names...]", "containers of the state; default: every one with a previous generation")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--host <name>", "only the containers on this host of hosts: (repeatable)", collect, [])
    .addOption(progressOption())
    .action(async (names: string[], o: { yes?: boolean; host: string[] } & Progress) => {
      streaming = true;
      code = await applyCommand(io, { ...global(), ...o, rollback: names });
    });
  program.command("status").description("containers per host with their live status").action(async () => {
    code = await statusCommand(io, global());
  });
  program.command("logs").description(
    "what a container has printed (stdout to stdout, stderr to stderr), also after it exited",
  )
    .argument("<name>", "the container's name")
    .option("-n, --tail <lines>", "only the last LINES lines", parseTail)
    .action(async (name: string, o: { tail?: number }) => {
      code = await logsCommand(io, { ...global(), ...o, name });
    });
  const state = program.command("state").description("manage the state (a file, or etcd)");
  state.command("pull").description("print the state (and its etcd revision, on stderr)").action(async () => {
    code = await pullCommand(io, global());
  });
  state.command("push").description("replace the state with a state file (asks first unless --yes)")
    .argument("<file>", "a state file, e.g. from `berth state pull`")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--revision <n>", "push only if the state is still at this etcd revision (as pulled)", parseRevision)
    .action(async (file: string, o: { yes?: boolean; revision?: number }) => {
      code = await pushCommand(io, { ...global(), ...o, file });
    });
  state.command("migrate").description("copy the state to another backend, and check it arrived whole")
    .requiredOption("--to <file|url>", "where to: a state file, or etcd://host1:2379,host2:2379/prefix")
    .option("-f, --force", "replace a state already there")
    .action(async (o: { to: string; force?: boolean }) => {
      code = await migrateCommand(io, { ...global(), ...o });
    });
  state.command("unlock").description("remove the lock left by a run that is gone")
    .option("-f, --force", "required: the lock is removed whatever holds it")
    .action(async (o: { force?: boolean }) => {
      code = await unlockCommand(io, { ...global(), ...o });
    });
  state.command("recover").description("rebuild a lost state file from what the hosts of the config report")
    .option("-f, --force", "overwrite an existing state file")
    .option(
      "--name-prefix <prefix>",
      "claim only berth containers not in the config whose name starts with PREFIX (others on the hosts belong to other configs)",
    )
    .action(async (o: { force?: boolean; namePrefix?: string }) => {
      code = await recoverCommand(io, { ...global(), ...o });
    });

  addCommandHelp(program);
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    // With --json a script reads the error on stdout too, as an object (the message also goes to stderr).
    const json = argv.includes("--json") && !argv.includes("--");
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      if (json) writeJson(io, jsonError("USAGE", err.message.replace(/^error: /, "")));
      return EXIT_ERROR;
    }
    const message = err instanceof Error ? err.message : String(err);
    const error = jsonError(err instanceof BerthError ? err.code : "UNEXPECTED", message);
    if (json && streaming) writeJsonLine(io, { type: "error", ...error });
    else if (json) writeJson(io, error);
    io.stderr.write(`berth: ${message}\n`);
    if (io.env.BERTH_DEBUG && err instanceof Error) io.stderr.write(`${err.stack ?? ""}\n`);
    if (!(err instanceof BerthError) && !io.env.BERTH_DEBUG) {
      io.stderr.write("(unexpected error: run with BERTH_DEBUG=1 for details)\n");
    }
    return EXIT_ERROR;
  }
}

/** `node 20.20.2`, `bun 1.4.5` or `deno 2.9.6`. */
function jsRuntime(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

function parseShell(text: string): Shell {
  if ((SHELLS as readonly string[]).includes(text)) return text as Shell;
  const close = suggest(text, SHELLS);
  throw new InvalidArgumentError(
    `expected one of ${SHELLS.join(", ")}${close === undefined ? "" : ` (did you mean "${close}"?)`}`,
  );
}

type Progress = { progress?: ProgressMode };

function progressOption(): Option {
  return new Option(
    "--progress <mode>",
    "live progress: tty (a status line, the default on a terminal), plain (lines, the default otherwise) or quiet (failures only)",
  )
    .choices(PROGRESS_MODES);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseConcurrency(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError("expected a whole number of hosts, at least 1");
  return Number(value);
}

function parseFormat(value: string): StateFormat {
  const format = STATE_FORMATS.find((f) => f === value);
  if (format === undefined) throw new InvalidArgumentError(`expected one of ${STATE_FORMATS.join(", ")}`);
  return format;
}

function parseWait(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parseRevision(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`expected a revision number, such as 42`);
  return Number(text);
}
