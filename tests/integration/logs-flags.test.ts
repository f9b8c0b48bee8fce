/**
 * `berth logs` flags on the real local Docker engine: every container prefixed by name when no name is given,
 * `--timestamps`, `--since` (a duration and an RFC 3339 time), `-f` following output printed after it began
 * until the container exits, and bad values refused with a specific message. On containerd through CRI:
 * `--timestamps` and `--since` from the log file's own line times, and `-f` refused with the advice.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { inlineRefs, schemaErrors } from "../support/json-schema.ts";
import { loadCriEnv } from "./kubelet-env.ts";

const env = loadTestEnv();
const OUTPUT = JSON.parse(readFileSync(new URL("../../schema/output.schema.json", import.meta.url), "utf8"));
const outputErrors = (name: string, value: unknown) =>
  schemaErrors(inlineRefs({ $ref: `#/$defs/${name}` }, OUTPUT), value);
const dir = mkdtempSync(join(tmpdir(), "berth-logs-flags-"));
const prefix = `bt-logflags-${process.pid}`;
// "late" comes 3 s after start: a follow begun right after apply sees it arrive.
const LATE = "echo start; sleep 3; echo late";
const STEADY = "echo b-out; echo b-err >&2; trap 'exit 0' TERM; while :; do sleep 1; done";
writeFileSync(
  join(dir, "config.yaml"),
  `hosts: { local: { direct: {} } }
runtime: { docker: { host: "unix://${env.local.socket}" } }
x-base: &base { host: local, image: ${env.image}, init: true, networkMode: none, entrypoint: [sh, -c] }
containers:
  a: { <<: *base, name: ${prefix}-a, restartPolicy: "no", args: [${JSON.stringify(LATE)}] }
  bb: { <<: *base, name: ${prefix}-bb, args: [${JSON.stringify(STEADY)}] }
`,
);

afterAll(async () => {
  await runCli(["destroy", "--yes"], dir);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** Waits until `berth logs NAME` shows `text`. */
async function printed(name: string, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await runCli(["logs", name], dir)).stdout.includes(text)) {
    if (Date.now() > deadline) throw new Error(`${name} did not print ${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("berth logs flags on Docker", () => {
  test("-f prints output that comes after it began, until the container exits", async () => {
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
    await printed("a", "start");
    const before = await runCli(["logs", "a"], dir);
    expect(before.stdout).toBe("start\n");
    const started = Date.now();
    const follow = await runCli(["logs", "-f", "a"], dir);
    expect({ code: follow.code, stdout: follow.stdout, stderr: follow.stderr }).toEqual({
      code: 0,
      stdout: "start\nlate\n",
      stderr: "",
    });
    // It waited for "late": the engine's own view says the container exited only now.
    expect(Date.now() - started).toBeGreaterThan(500);
    const seen = await dockerLocal(`/containers/${prefix}-a/json`);
    expect((seen.body as { State: { Status: string } }).State.Status).toBe("exited");
  }, 30_000);

  test("without a name: every container, each line prefixed by its name, stderr on stderr", async () => {
    await printed("bb", "b-out");
    const all = await runCli(["logs"], dir);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe("a  | start\na  | late\nbb | b-out\n");
    expect(all.stderr).toBe("bb | b-err\n");
    const json = JSON.parse((await runCli(["--json", "logs"], dir)).stdout);
    expect(outputErrors("logsAllOutput", json)).toEqual([]); // as schema/output.schema.json documents it
    expect(json.containers).toEqual({
      a: { stdout: "start\nlate\n", stderr: "" },
      bb: { stdout: "b-out\n", stderr: "b-err\n" },
    });
  }, 30_000);

  test("--timestamps dates each line; --since keeps what was printed from then on", async () => {
    const stamped = await runCli(["logs", "a", "--timestamps"], dir);
    const lines = stamped.stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.replace(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z /, "<time> "))).toEqual([
      "<time> start",
      "<time> late",
    ]);
    // From the time "late" was printed: only that line.
    const lateAt = (lines[1] as string).split(" ")[0] as string;
    expect((await runCli(["logs", "a", "--since", lateAt], dir)).stdout).toBe("late\n");
    expect((await runCli(["logs", "a", "--since", "1h"], dir)).stdout).toBe("start\nlate\n");
    expect((await runCli(["logs", "a", "--since", "2999-01-01T00:00:00Z"], dir)).stdout).toBe("");
  }, 30_000);

  test("bad values are refused with a specific message", async () => {
    const since = await runCli(["logs", "a", "--since", "yesterday"], dir);
    expect(since.code).toBe(1);
    expect(since.stderr).toContain(
      "option '--since <when>' argument 'yesterday' is invalid. expected a duration back from now such as 10m or 1h30m, or an RFC 3339 time such as 2026-11-30T08:00:00Z",
    );
    const month = await runCli(["logs", "a", "--since", "2026-13-01T00:00:00Z"], dir);
    expect(month.stderr).toContain("is not a valid time");
    const json = await runCli(["--json", "logs", "-f"], dir);
    expect(json.stderr).toContain("--follow prints the output as it comes, --json an object at the end: drop one");
    const typo = await runCli(["logs", "bbb"], dir);
    expect(typo.stderr).toContain(`No container "bbb" in the state: did you mean "bb"?`);
  }, 30_000);
});

describe("berth logs flags on CRI (local containerd)", () => {
  const cri = loadCriEnv();
  const criDir = mkdtempSync(join(tmpdir(), "berth-logs-flags-cri-"));
  writeFileSync(
    join(criDir, "config.yaml"),
    `hosts: { local: { direct: {} } }
runtime: { kubelet: { address: "unix://${cri.local.socket}" } }
containers:
  c:
    name: ${prefix}-c
    host: local
    image: ${cri.image}
    networkMode: host
    entrypoint: [sh, -c]
    args: ["echo c-1; sleep 1; echo c-2; trap 'exit 0' TERM; while :; do sleep 1; done"]
`,
  );
  afterAll(async () => {
    await runCli(["destroy", "--yes"], criDir);
    rmSync(criDir, { recursive: true, force: true });
  }, 60_000);

  test(
    "--timestamps gives each line the time in the log file; --since keeps the later lines; -f is refused",
    async () => {
      expect((await runCli(["apply", "--yes"], criDir)).code).toBe(0);
      const deadline = Date.now() + 15_000;
      let stamped = "";
      while (!(stamped = (await runCli(["logs", "c", "-t"], criDir)).stdout).includes("c-2")) {
        if (Date.now() > deadline) throw new Error(`c did not print c-2: ${stamped}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const lines = stamped.trimEnd().split("\n");
      expect(lines.map((l) => l.replace(/^\d{4}-\d{2}-\d{2}T\S+ /, "<time> "))).toEqual(["<time> c-1", "<time> c-2"]);
      const secondAt = (lines[1] as string).split(" ")[0] as string;
      expect((await runCli(["logs", "c", "--since", secondAt], criDir)).stdout).toBe("c-2\n");
      expect((await runCli(["logs", "c", "--since", "1h"], criDir)).stdout).toBe("c-1\nc-2\n");
      const follow = await runCli(["logs", "c", "-f"], criDir);
      expect(follow.code).toBe(1);
      expect(follow.stderr).toContain(`its runtime cannot follow output`);
      expect(follow.stderr).toContain(`run "berth logs c --since 1m" instead`);
    },
    60_000,
  );
});
