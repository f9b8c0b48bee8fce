/**
 * Files refused at the door, through the CLI as a user runs it: an empty
 * state file, `--out` aimed at what berth reads, forged and cut-short plan
 * files, keys that become one once read, bytes and strings with no UTF-8
 * form. Each is refused with a clear message naming the place and the way
 * out, nothing is overwritten, and no run says "unexpected error". Memory
 * stays bounded: a config of N MB is read in a small multiple of N MB.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../support/cli.ts";
import { detectRuntime } from "../support/js-runtime.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, containerYaml, fleetHosts, removeByPrefix } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-door-"));
const prefix = `rel-door-${process.pid}`;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const config = `${fleetHosts(env)}containers:\n${containerYaml(env, "a", `${prefix}-a`, "local")}${
  containerYaml(env, "b", `${prefix}-b`, "local")
}`;
writeFileSync(join(dir, "config.yaml"), config);

/** A refused run: exit 1, the message, no stack trace or "unexpected error". */
function expectRefused(run: { code: number; stdout: string; stderr: string }, message: string | RegExp): void {
  tally("badInputs");
  expect({ code: run.code, unexpected: /unexpected error| {4}at /.test(run.stderr) }).toEqual({
    code: 1,
    unexpected: false,
  });
  if (typeof message === "string") expect(run.stderr).toContain(message);
  else expect(run.stderr).toMatch(message);
}

afterAll(async () => {
  await removeByPrefix(env.local.socket, prefix).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("files refused at the door", () => {
  test("setup: the 2 containers are applied", async () => {
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
    expect(await census(env.local.socket, prefix, [`${prefix}-a`, `${prefix}-b`])).toEqual({
      lost: [],
      duplicated: [],
      orphans: [],
    });
  }, 60_000);

  test('an empty state file is an error saying how to proceed, never read as "no containers"', async () => {
    const good = readFileSync(join(dir, "state.yaml"));
    for (const empty of ["", "\n", "   \n\n"]) {
      writeFileSync(join(dir, "state.yaml"), empty);
      for (const command of ["plan", "apply"]) {
        const run = await runCli(command === "apply" ? ["apply", "--yes"] : [command], dir);
        expectRefused(run, /is empty.*If this is a first run, delete it.*berth state recover --force/);
        expect(readFileSync(join(dir, "state.yaml"), "utf8")).toBe(empty);
      }
    }
    writeFileSync(join(dir, "state.yaml"), good, { mode: 0o600 });
  }, 60_000);

  test(
    "plan --out naming the state, its lock, the config, or a link to one of them is refused, the file untouched",
    async () => {
      symlinkSync(join(dir, "state.yaml"), join(dir, "link-to-state"));
      for (
        const out of [
          "state.yaml",
          "./state.yaml",
          join(dir, "state.yaml"),
          "state.yaml.lock",
          "config.yaml",
          "link-to-state",
        ]
      ) {
        const before = {
          state: readFileSync(join(dir, "state.yaml"), "utf8"),
          config: readFileSync(join(dir, "config.yaml"), "utf8"),
        };
        expectRefused(
          await runCli(["plan", "--out", out], dir),
          /--out ".*" is the (state file|state lock|config file); .*choose another file/,
        );
        expect({
          state: readFileSync(join(dir, "state.yaml"), "utf8"),
          config: readFileSync(join(dir, "config.yaml"), "utf8"),
        })
          .toEqual(before);
      }
    },
    60_000,
  );

  test("a forged or cut-short plan file is refused with the field at fault; nothing is applied", async () => {
    writeFileSync(join(dir, "config.yaml"), config.replace("args: [sleep", 'env: { X: "1" }, args: [sleep'));
    expect((await runCli(["plan", "--out", "plan.json"], dir)).code).toBe(2);
    const whole = readFileSync(join(dir, "plan.json"), "utf8");
    const doc = JSON.parse(whole);
    const forgeries: Array<[string, (d: typeof doc) => void]> = [
      ["plan.basis.observed", (d) => delete d.plan.basis.observed],
      ["plan.basis", (d) => (d.plan.basis = null)],
      ["plan.changes[0].action", (d) => (d.plan.changes[0].action = "rm -rf")],
      ["plan.basis.state", (d) => (d.plan.basis.state = 42)],
      ["plan.summary.recreate", (d) => (d.plan.summary.recreate = "all")],
      ["plan.extra", (d) => (d.plan.extra = true)],
    ];
    for (const [field, forge] of forgeries) {
      const copy = JSON.parse(whole);
      forge(copy);
      writeFileSync(join(dir, "forged.json"), JSON.stringify(copy));
      expectRefused(await runCli(["apply", "forged.json"], dir), `${field}: `);
    }
    for (const n of [0, 1, 40, Math.floor(whole.length / 2), whole.length - 2]) {
      writeFileSync(join(dir, "cut.json"), whole.slice(0, n));
      expectRefused(await runCli(["apply", "cut.json"], dir), /Cannot read plan file|is not a plan saved by/);
    }
    // Nothing was applied: the containers still run the old configuration.
    expect((await runCli(["plan"], dir)).code).toBe(2);
    writeFileSync(join(dir, "config.yaml"), config);
  }, 120_000);

  test('keys that become one once read (1 and "1", ~ and "") are refused with both places', async () => {
    const cases = [
      `${fleetHosts(env)}containers:\n${containerYaml(env, "1", `${prefix}-a`, "local")}${
        containerYaml(env, '"1"', `${prefix}-b`, "local")
      }`,
      config.replace("args: [sleep", 'env: { ~: "a", "": "b" }, args: [sleep'),
      config.replace("args: [sleep", "env: { 0x1: a, 1: b }, args: [sleep"),
    ];
    for (const text of cases) {
      writeFileSync(join(dir, "bad.yaml"), text);
      expectRefused(
        await runCli(["-c", "bad.yaml", "validate"], dir),
        /bad\.yaml:\d+:\d+: Map keys must be unique: ".*" is also at line \d+/,
      );
    }
  });

  test("bytes that are not UTF-8, or strings with no UTF-8 form, are refused with their line and column", async () => {
    const text = config.replace("args: [sleep", 'configFiles: { /tmp/x: "BYTE" }, args: [sleep');
    const at = Buffer.from(text).indexOf("BYTE");
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      const bytes = Buffer.concat([
        Buffer.from(text).subarray(0, at),
        Buffer.from(bad),
        Buffer.from(text).subarray(at + 4),
      ]);
      writeFileSync(join(dir, "bad.yaml"), bytes);
      expectRefused(
        await runCli(["-c", "bad.yaml", "validate"], dir),
        /bad\.yaml:\d+:\d+: byte 0x[0-9a-f]{2} at offset \d+ is not valid UTF-8/,
      );
    }
    writeFileSync(join(dir, "bad.yaml"), text.replace("BYTE", "\\ud800"));
    expectRefused(await runCli(["-c", "bad.yaml", "validate"], dir), "half of a UTF-16 surrogate pair");
    const state = readFileSync(join(dir, "state.yaml"));
    writeFileSync(join(dir, "state.yaml"), Buffer.concat([state, Buffer.from([0x23, 0xfe, 0x0a])]));
    expectRefused(await runCli(["plan"], dir), "is not valid UTF-8");
    writeFileSync(join(dir, "state.yaml"), state, { mode: 0o600 });
  });

  test("memory stays bounded: a config with a 50 MB file is read in a small multiple of 50 MB", () => {
    const line = `        ${"x".repeat(99)}\n`;
    writeFileSync(
      join(dir, "big.yaml"),
      `${fleetHosts(env)}containers:\n  a:\n    host: local\n    name: ${prefix}-a\n    image: "${env.image}"\n` +
        `    configFiles:\n      /tmp/big: |\n${line.repeat(Math.floor((50 * 1024 * 1024) / line.length))}`,
    );
    // Peak resident memory of `berth validate`, by the kernel's count, against a tiny config.
    const peak = (file: string) => {
      const runtimeArgs = detectRuntime() === "bun" ? [] : ["--import", "tsx"];
      const r = spawnSync("/usr/bin/time", [
        "-f",
        "%M",
        process.execPath,
        ...runtimeArgs,
        "cli.ts",
        "-c",
        file,
        "-s",
        join(dir, "none.yaml"),
        "validate",
      ], {
        cwd: ROOT,
        encoding: "utf8",
      });
      return { kb: Number(r.stderr.trim().split("\n").at(-1)), out: r.stdout + r.stderr };
    };
    const small = peak(join(dir, "config.yaml"));
    const large = peak(join(dir, "big.yaml"));
    const mb = (kb: number) => Math.round(kb / 1024);
    console.log(
      `memory: validate of a ${Math.round(readFileSync(join(dir, "big.yaml")).length / 1e6)} MB config: peak ${
        mb(large.kb)
      } MB (tiny config: ${mb(small.kb)} MB)`,
    );
    expect(large.out).toContain("is valid");
    // Measured 270-440 MB above the tiny config's peak (the YAML library's tokens and lines, then the value);
    // before, plans of such a config took 2.5 GB. Bun's lazier collector gives the upper end.
    expect(mb(large.kb - small.kb)).toBeLessThan(10 * 50);
  }, 120_000);
});
