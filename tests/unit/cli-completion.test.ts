/**
 * `berth completion bash|zsh|fish`. The bash script is run by a real bash (`complete`'s function called
 * as bash's completion would call it) and must offer what the CLI accepts. zsh and fish are not installed
 * on the test machine: their scripts are checked for every command and flag, not run.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the bash completion offers for the words typed so far (the last one being completed). */
function complete(script: string, words: string[]): string[] {
  const out = execFileSync("bash", [
    "-c",
    `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _berth; printf '%s\\n' "\${COMPREPLY[@]}"`,
    "bash",
    script,
    ...words,
  ], { encoding: "utf8" });
  return out.split("\n").filter((l) => l !== "");
}

describe("berth completion", () => {
  test("bash: commands, subcommands, options of the command typed, shells; values after -c left to files", async () => {
    const run = await runCli(["completion", "bash"], dir);
    expect(run.code).toBe(0);
    const script = join(dir, "berth.bash");
    writeFileSync(script, run.stdout);
    expect(complete(script, ["berth", "pl"])).toEqual(["plan"]);
    expect(complete(script, ["berth", "-c", "x.yaml", "st"])).toEqual(["status", "state"]);
    expect(complete(script, ["berth", "state", "pu"])).toEqual(["pull", "push"]);
    expect(complete(script, ["berth", "plan", "--ta"])).toEqual(["--target"]);
    expect(complete(script, ["berth", "apply", "-t", "web", "--h"])).toEqual(["--host", "--help"]);
    expect(complete(script, ["berth", "completion", ""]).slice(0, 3)).toEqual(["bash", "zsh", "fish"]);
    expect(complete(script, ["berth", "-c", ""])).toEqual([]);
    // Values from a fixed set: offered; the new commands and their flags too.
    expect(complete(script, ["berth", "plan", "--graph", ""])).toEqual(["dot", "mermaid"]);
    expect(complete(script, ["berth", "plan", "--graph", "m"])).toEqual(["mermaid"]);
    expect(complete(script, ["berth", "im"])).toEqual(["import"]);
    expect(complete(script, ["berth", "logs", "--f"])).toEqual(["--follow"]);
    expect(complete(script, ["berth", "init", "--f"])).toEqual(["--force"]);
  });

  test("zsh and fish scripts name every command and the plan/apply flags", async () => {
    const zsh = (await runCli(["completion", "zsh"], dir)).stdout;
    expect(zsh.startsWith("#compdef berth\n")).toBe(true);
    expect(zsh).toContain("bashcompinit");
    expect(zsh).toContain("complete -o default -F _berth berth");
    const fish = (await runCli(["completion", "fish"], dir)).stdout;
    for (const command of ["plan", "apply", "status", "validate", "logs", "state", "version", "completion", "push"]) {
      expect(fish).toContain(` -a ${command} -d `);
    }
    expect(fish).toContain("__fish_seen_subcommand_from plan' -s t -l target -r");
    expect(fish).toContain("-l no-color");
    expect(fish).toContain("-l graph -x -a 'dot mermaid'");
  });

  test("an unknown shell is refused with the ones known and a suggestion, exit 1", async () => {
    const run = await runCli(["completion", "bsh"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`expected one of bash, zsh, fish (did you mean "bash"?)`);
  });
});
