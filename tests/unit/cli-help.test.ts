/**
 * Each subcommand's `--help`: its own options, the global options, its exit codes and an example.
 * The commands are read from `berth --help` (and `berth state --help`), so a new command without
 * them fails here.
 */
import { describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";

/** The command names of a help text's "Commands:" section. */
function commandsOf(help: string): string[] {
  const section = (help.split("\nCommands:\n")[1] ?? "").split("\n\n")[0] ?? "";
  return [...section.matchAll(/^ {2}(\w[\w-]*)/gm)].map((m) => m[1] as string).filter((c) => c !== "help");
}

describe("per-command help", () => {
  test("every subcommand's --help lists its options, the global options, exit codes and an example", async () => {
    const top = await runCli(["--help"], process.cwd());
    expect(top.code).toBe(0);
    const state = await runCli(["state", "--help"], process.cwd());
    const commands = [
      ...commandsOf(top.stdout).map((c) => [c]),
      ...commandsOf(state.stdout).map((c) => ["state", c]),
    ];
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.map((c) => c.join(" "))).toContain("plan");
    expect(commands.map((c) => c.join(" "))).toContain("state push");
    for (const command of commands) {
      const run = await runCli([...command, "--help"], process.cwd());
      const text = `berth ${command.join(" ")} --help:\n${run.stdout}`;
      expect({ command, code: run.code }).toEqual({ command, code: 0 });
      expect(text).toContain(`Usage: berth ${command.join(" ")}`);
      expect(text).toContain("\nOptions:\n");
      expect(text).toContain("\nGlobal Options:\n");
      expect(text).toContain("--config <file>");
      expect(text).toContain("--json");
      expect(text).toMatch(/\nExit codes:\n {2}0 {4}\S/);
      expect(text).toMatch(/\n {2}1 {4}\S/);
      expect(text).toMatch(/\nExamples?:\n {2}\$ berth /);
    }
  });

  test("a command's own options and exit codes are its own", async () => {
    const plan = (await runCli(["plan", "--help"], process.cwd())).stdout;
    expect(plan).toContain("--target <name>");
    expect(plan).toMatch(/\n {2}2 {4}changes/);
    const apply = (await runCli(["apply", "--help"], process.cwd())).stdout;
    expect(apply).toContain("--progress <mode>");
    expect(apply).toMatch(/choices: "plain", "tty",\s+"quiet"/);
    expect(apply).toMatch(/\n {2}130 {2}interrupted/);
    expect(apply).not.toMatch(/\n {2}2 {4}/);
  });

  test("a --progress value not among the choices is refused with them", async () => {
    const run = await runCli(["apply", "--progress", "fancy"], process.cwd());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Allowed choices are plain, tty, quiet");
  });
});
