/**
 * `berth completion bash|zsh|fish`: shell completion scripts, generated from
 * the same command tree the CLI parses with, so they cannot drift from it.
 *
 * @module
 */
import type { Command } from "commander";

/** The shells `berth completion` writes a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  /** `plan`, `state/push`; "" for the program. */
  path: string;
  command: Command;
}

/** The completion script for `shell`, for the program `program` (named `berth`). */
export function completionScript(program: Command, shell: Shell): string {
  return shell === "fish" ? fish(program) : shell === "zsh" ? zsh(program) : bash(program);
}

function nodes(command: Command, path = ""): Node[] {
  return [
    { path, command },
    ...command.commands.flatMap((c) => nodes(c, path === "" ? c.name() : `${path}/${c.name()}`)),
  ];
}

function flags(command: Command): string[] {
  return [...command.options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined)), "--help"];
}

function bash(program: Command): string {
  const all = nodes(program);
  const valued = [
    ...new Set(
      all.flatMap((n) => n.command.options.filter((o) => o.required || o.optional)).flatMap((o) => [o.short, o.long]),
    ),
  ].filter((f) => f !== undefined).sort();
  // Options whose value is one of a few words (`--graph dot|mermaid`): those words, instead of files.
  const choices = [
    ...new Map(
      all.flatMap((n) => n.command.options).filter((o) => o.argChoices !== undefined).flatMap((o) =>
        [o.short, o.long].filter((f) => f !== undefined).map((f) => [f, (o.argChoices as string[]).join(" ")])
      ),
    ),
  ].map(([flag, words]) => `    ${flag}) COMPREPLY=($(compgen -W "${words}" -- "$cur")) ;;`);
  const steps = all.filter((n) => n.path !== "").map((n) => `"/${n.path}"`).join("|");
  // Below the program its options still apply, but not --version.
  const globals = flags(program).filter((f) => f !== "-V" && f !== "--version");
  const cases = all.map((n) => {
    const words = [
      ...n.command.commands.map((c) => c.name()),
      ...(n.path === "completion" ? SHELLS : []),
      ...flags(n.command),
      ...(n.path === "" ? [] : globals),
    ];
    return `    "/${n.path}") words="${[...new Set(words)].join(" ")}" ;;`;
  });
  return `# berth completion for bash: eval "$(berth completion bash)", e.g. in ~/.bashrc
_berth() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" w i skip=0 words="" option=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      ${valued.join("|")}) skip=1 option="$w" ;;
      -*) ;;
      *) case "$path/$w" in ${steps}) path="$path/$w" ;; esac ;;
    esac
  done
  # After an option that takes a value: its words, else files (-o default).
  if ((skip)); then
    case "$option" in
${choices.join("\n")}
    esac
    return 0
  fi
  case "\${path:-/}" in
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _berth berth
`;
}

function zsh(program: Command): string {
  return `#compdef berth
# berth completion for zsh: eval "$(berth completion zsh)", e.g. in ~/.zshrc (uses bash completion)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash(program).split("\n").slice(1).join("\n")}`;
}

function fish(program: Command): string {
  const lines = ["# berth completion for fish: berth completion fish > ~/.config/fish/completions/berth.fish"];
  const quote = (s: string) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  for (const o of program.options) {
    const value = o.required || o.optional ? " -r" : "";
    lines.push(
      `complete -c berth${o.short ? ` -s ${o.short.slice(1)}` : ""}${
        o.long ? ` -l ${o.long.slice(2)}` : ""
      }${value} -d ${quote(o.description)}`,
    );
  }
  for (const n of nodes(program)) {
    const names = n.command.commands.map((c) => c.name());
    const path = n.path === "" ? [] : n.path.split("/");
    // At this level: the path is typed, and none of the next level's commands yet.
    const here = path.length === 0
      ? `not __fish_seen_subcommand_from ${program.commands.map((c) => c.name()).join(" ")}`
      : `__fish_seen_subcommand_from ${path[path.length - 1]}${
        names.length > 0 ? `; and not __fish_seen_subcommand_from ${names.join(" ")}` : ""
      }`;
    for (const c of n.command.commands) {
      lines.push(`complete -c berth -f -n ${quote(here)} -a ${c.name()} -d ${quote(c.description())}`);
    }
    if (path.length === 0) continue;
    for (const o of n.command.options) {
      const value = o.argChoices !== undefined
        ? ` -x -a ${quote(o.argChoices.join(" "))}`
        : o.required || o.optional
        ? " -r"
        : "";
      lines.push(
        `complete -c berth -n ${quote(`__fish_seen_subcommand_from ${path[path.length - 1]}`)}${
          o.short ? ` -s ${o.short.slice(1)}` : ""
        }${o.long ? ` -l ${o.long.slice(2)}` : ""}${value} -d ${quote(o.description)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
