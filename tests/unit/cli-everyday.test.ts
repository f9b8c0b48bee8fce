/**
 * Everyday CLI commands and flags: `berth version`, `--no-color` / `FORCE_COLOR`, `--target` / `--host`,
 * `berth completion`. The host's Docker socket (set in the config) does not exist, so plans are `blocked`
 * and nothing here needs the test fleet; what is checked is what the CLI prints and refuses.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { styleFor } from "../../cli/output.ts";
import { VERSION } from "../../version.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cli-everyday-"));
writeFileSync(
  join(dir, "config.yaml"),
  `hosts:\n  node1: { direct: {} }\nruntime:\n  docker: { host: "unix://${dir}/no-engine.sock" }\n` +
    "containers:\n  web: { host: node1, image: busybox:latest, args: [sleep, '60'] }\n",
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ESC = "\x1b[";

describe("berth version", () => {
  test("prints the version and the runtime; --json as an object with formatVersion", async () => {
    const run = await runCli(["version"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^berth ${VERSION.replaceAll(".", "\\.")} \\((node|bun|deno) [0-9.]+`));
    const json = JSON.parse((await runCli(["--json", "version"], dir)).stdout);
    expect({ ...json, runtime: typeof json.runtime }).toEqual({
      formatVersion: 1,
      version: VERSION,
      runtime: "string",
    });
    expect((await runCli(["--version"], dir)).stdout).toBe(`${VERSION}\n`);
  });
});

describe("colour", () => {
  test("FORCE_COLOR colours piped output; --no-color and NO_COLOR turn it off", async () => {
    const forced = await runCli(["plan"], dir, { NO_COLOR: "", FORCE_COLOR: "1" });
    expect(forced.stdout).toContain(ESC);
    const flag = await runCli(["--no-color", "plan"], dir, { NO_COLOR: "", FORCE_COLOR: "1" });
    expect(flag.stdout).not.toContain(ESC);
    expect(flag.stdout).toContain("web blocked on node1 (local)");
    const piped = await runCli(["plan"], dir, { NO_COLOR: "", FORCE_COLOR: undefined });
    expect(piped.stdout).not.toContain(ESC);
  });

  test("styleFor: a terminal colours, FORCE_COLOR=0 and NO_COLOR do not", () => {
    const red = (isTTY: boolean, env: Record<string, string | undefined>) => styleFor({ isTTY }, env).red("x");
    expect(red(true, {})).toBe(`${ESC}31mx${ESC}39m`);
    expect(red(true, { FORCE_COLOR: "0" })).toBe("x");
    expect(red(true, { NO_COLOR: "1" })).toBe("x");
    expect(red(false, { FORCE_COLOR: "true" })).toBe(`${ESC}31mx${ESC}39m`);
    expect(red(false, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe("x");
  });
});

describe("--target / --host refuse what they cannot select", () => {
  test("an unknown container or host name is refused with did-you-mean, exit 1", async () => {
    const target = await runCli(["plan", "--target", "wbe"], dir);
    expect(target.code).toBe(1);
    expect(target.stderr).toContain(
      `--target "wbe" is not a container of the config or the state; did you mean "web"?`,
    );
    const host = await runCli(["apply", "--yes", "--host", "nod1"], dir);
    expect(host.code).toBe(1);
    expect(host.stderr).toContain(`--host "nod1" is not a host of hosts:; did you mean "node1"?`);
  });

  test("with a saved plan they are refused rather than ignored", async () => {
    const out = await runCli(["plan", "--target", "web", "--out", "p.json"], dir);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("--target/--host cannot be used here");
  });
});
