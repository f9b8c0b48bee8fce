/**
 * What each subcommand's `--help` adds after its options (commander lists
 * those and the global options): its exit codes and an example.
 *
 * @module
 */
import type { Command } from "commander";

interface CommandHelp {
  /** Exit code and what it means, beyond "0: done" and "1: an error". */
  exits?: Array<[number, string]>;
  /** Example invocations, each with what it does. */
  examples: Array<[string, string]>;
}

const AN_ERROR: [number, string] = [1, "an error: bad input (named with its fix), a host or the state unreachable"];

/** By command path (`plan`, `state pull`). */
const HELP: Record<string, CommandHelp> = {
  version: { examples: [["berth version", "berth's version and the JavaScript runtime"]] },
  completion: { examples: [["berth completion bash > /etc/bash_completion.d/berth", "install bash completion"]] },
  init: {
    exits: [[0, "the file was written"], [1, "the file exists (--force overwrites it) or cannot be written"]],
    examples: [["berth init && berth validate", "write a starter config.yaml, then check it"]],
  },
  validate: {
    exits: [[0, "the config (and the state) are valid"], [1, "a problem, named with its field and fix"]],
    examples: [["berth -c cluster.yaml validate --json", "check a config, the answer as JSON"]],
  },
  plan: {
    exits: [
      [0, "no changes: the hosts match the config"],
      [2, "changes, every host checked"],
      [1, "an error, or an entry blocked (a host unreachable, a changed host key)"],
    ],
    examples: [
      ["berth plan --out plan.json", "show the changes and save them for `berth apply plan.json`"],
      ["berth plan --target web --json", "only the container web, as JSON"],
    ],
  },
  apply: {
    exits: [
      [0, "every change done"],
      [1, "an error, or a change failed or blocked (the per-host summary says which)"],
      [130, "interrupted: the steps in flight finished and the state was saved"],
    ],
    examples: [
      ["berth apply", "show the plan, ask, then make the hosts match"],
      ["berth apply --yes --json | jq -c 'select(.type == \"failed\")'", "unattended, events as NDJSON"],
      ["berth apply plan.json", "apply a saved plan exactly (refused if hosts or state changed since)"],
    ],
  },
  destroy: {
    exits: [
      [0, "every container of the state removed"],
      [1, "an error, or a removal failed"],
      [130, "interrupted: the steps in flight finished and the state was saved"],
    ],
    examples: [["berth destroy --yes --progress plain", "remove everything berth made, a line per step"]],
  },
  rollback: {
    exits: [
      [0, "every container back on its previous generation"],
      [1, "an error (no previous generation, a secret no longer in the config), or a change failed"],
      [130, "interrupted: the steps in flight finished and the state was saved"],
    ],
    examples: [["berth rollback web --yes", "return web to its config and image before its last replace"]],
  },
  status: {
    exits: [[0, "every host answered"], [1, "an error, or a host unreachable (its rows say why)"]],
    examples: [["berth status --json", "containers per host with their live status, as JSON"]],
  },
  logs: { examples: [["berth logs web --tail 50", "the last 50 lines container web printed"]] },
  state: { examples: [["berth state pull > backup.yaml", "save a copy of the state"]] },
  "state pull": { examples: [["berth -s etcd://10.0.0.5:2379/berth state pull", "print the state kept in etcd"]] },
  "state push": {
    examples: [["berth state push backup.yaml --revision 42", "put a state back, if nobody wrote since revision 42"]],
  },
  "state migrate": {
    examples: [["berth state migrate --to etcd://10.0.0.5:2379/berth", "move the state file into etcd"]],
  },
  "state unlock": { examples: [["berth state unlock --force", "remove the lock a crashed run left"]] },
  "state recover": {
    examples: [["berth state recover --name-prefix web-", "rebuild a lost state from the hosts"]],
  },
};

/** Adds the exit codes and examples to the help of every subcommand of `program`. */
export function addCommandHelp(program: Command): void {
  const visit = (command: Command, path: string[]) => {
    for (const sub of command.commands) {
      const name = [...path, sub.name()];
      const help = HELP[name.join(" ")];
      if (help !== undefined) sub.addHelpText("after", helpText(help));
      visit(sub, name);
    }
  };
  visit(program, []);
}

function helpText(help: CommandHelp): string {
  const exits = help.exits ?? [[0, "done"], AN_ERROR];
  return [
    "",
    "Exit codes:",
    ...exits.map(([code, what]) => `  ${String(code).padEnd(3)}  ${what}`),
    "",
    help.examples.length === 1 ? "Example:" : "Examples:",
    ...help.examples.map(([example, what]) => `  $ ${example}\n      ${what}`),
  ].join("\n");
}
