/**
 * The `--json` contract for scripts, pinned: each command's output shape (keys and types),
 * `formatVersion` everywhere, errors as JSON on stdout, and plan exit codes 0 / 2 / 1.
 * The host's Docker socket (set in the config) does not exist, so nothing here needs the test fleet:
 * a plan against it is all `blocked`, which is exactly the case scripts must see as an error.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { publicPlan } from "../../cli/json-output.ts";
import { warn } from "../../cli/commands.ts";
import { hostDisplay, hostNamesOf } from "../../cli/host-names.ts";
import type { CliIO } from "../../cli/io.ts";
import type { PlanWithBasis } from "../../engine/containers.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cli-json-"));
const env = {};
writeFileSync(
  join(dir, "config.yaml"),
  `hosts:\n  node1: { direct: {} }\nruntime:\n  docker: { host: "unix://${dir}/no-engine.sock" }\n` +
    "containers:\n  web: { host: node1, image: busybox:latest, args: [sleep, '60'] }\n",
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Keys and value types, recursively; an array is shown by its first element. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shape(v[0])];
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  }
  return v === null ? "null" : typeof v;
}

const ERROR_SHAPE = { formatVersion: "number", ok: "boolean", error: { code: "string", message: "string" } };

describe("--json contract", () => {
  test("validate --json: formatVersion, valid, counts", async () => {
    const run = await runCli(["validate", "--json"], dir, env);
    expect(run.code).toBe(0);
    expect(shape(JSON.parse(run.stdout))).toEqual({
      formatVersion: "number",
      valid: "boolean",
      containers: "number",
      hosts: "number",
    });
  });

  test("a bad config with --json prints a JSON error object on stdout, and the message on stderr", async () => {
    writeFileSync(join(dir, "bad.yaml"), "hosts: {}\ncontainers:\n  web: { host: nowhere, image: x }\n");
    const run = await runCli(["--json", "-c", "bad.yaml", "validate"], dir, env);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout);
    expect(shape(out)).toEqual(ERROR_SHAPE);
    expect(out.error.code).toBe("VALIDATION");
    expect(out.error.message).toContain("nowhere");
    expect(run.stderr).toContain("nowhere");
  });

  test("a usage error with --json is a JSON error object too", async () => {
    const run = await runCli(["plan", "--json", "--no-such-flag"], dir, env);
    expect(run.code).toBe(1);
    expect(shape(JSON.parse(run.stdout))).toEqual(ERROR_SHAPE);
  });

  test("plan whose entries are blocked exits 1 (not 2), with the reason on stderr; the JSON names the host", async () => {
    const run = await runCli(["plan", "--json"], dir, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("blocked");
    expect(run.stderr).toContain("no-engine.sock");
    const out = JSON.parse(run.stdout);
    expect(shape(out)).toEqual({
      formatVersion: "number",
      plan: {
        changes: [{
          name: "string",
          action: "string",
          host: "string",
          reasons: ["string"],
          diff: [],
          files: [],
          directories: [],
          hostName: "string",
        }],
        summary: { blocked: "number" },
        empty: "boolean",
      },
    });
    expect(out.plan.changes[0].hostName).toBe("node1");
    expect(out.plan.changes[0].host).toBe("local");
    const text = await runCli(["plan"], dir, env);
    expect(text.code).toBe(1);
  });

  test("status --json: formatVersion and one row per container", async () => {
    const run = await runCli(["status", "--json"], dir, env);
    expect(run.code).toBe(1); // the host is unreachable
    expect(shape(JSON.parse(run.stdout))).toEqual({
      formatVersion: "number",
      containers: [{
        host: "string",
        hostName: "string",
        name: "string",
        status: "string",
        id: "string",
        image: "string",
      }],
    });
  });

  test("apply --json: NDJSON, a plan line then a summary line, each with formatVersion", async () => {
    const run = await runCli(["apply", "--yes", "--json", "-s", "apply-state.yaml"], dir, env);
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => shape(l))).toEqual([
      {
        formatVersion: "number",
        type: "string",
        plan: {
          changes: [{
            name: "string",
            action: "string",
            host: "string",
            reasons: ["string"],
            diff: [],
            files: [],
            directories: [],
            hostName: "string",
          }],
          summary: { blocked: "number" },
          empty: "boolean",
        },
      },
      {
        formatVersion: "number",
        type: "string",
        ok: "boolean",
        durationMs: "number",
        result: { failed: "number", blocked: "number", interrupted: "boolean", results: [] },
      },
    ]);
    expect(lines.map((l) => l.type)).toEqual(["plan", "summary"]);
    expect(lines[1].ok).toBe(false); // the only change is blocked
  });

  test("diff values are JSON values, not JSON inside strings; addresses and file lines stay text", () => {
    const plan = {
      changes: [{
        name: "web",
        action: "recreate",
        host: "10.0.0.2",
        fromHost: "10.0.0.1",
        reasons: [],
        diff: [
          { op: "~", path: "env.LEVEL", before: '"1"', after: '"2"' },
          { op: "+", path: "args", after: '["a",1]' },
          { op: "-", path: "privileged", before: "true" },
          { op: "~", path: "host", before: "10.0.0.1", after: "10.0.0.2" },
          { op: "+", path: "file /etc/a.conf:1", after: "42" },
        ],
        files: [],
        directories: [],
      }],
      summary: { recreate: 1 },
      empty: false,
      basis: {},
    } as unknown as PlanWithBasis;
    const names = new Map([["10.0.0.1", "node1"], ["10.0.0.2", "node2"]]);
    const out = publicPlan(plan, (h) => names.get(h) ?? h) as { changes: Record<string, unknown>[] };
    expect(out).not.toHaveProperty("basis");
    const change = out.changes[0] as Record<string, unknown>;
    expect(change.hostName).toBe("node2");
    expect(change.fromHostName).toBe("node1");
    expect(change.diff).toEqual([
      { op: "~", path: "env.LEVEL", before: "1", after: "2" },
      { op: "+", path: "args", after: ["a", 1] },
      { op: "-", path: "privileged", before: true },
      { op: "~", path: "host", before: "10.0.0.1", after: "10.0.0.2" },
      { op: "+", path: "file /etc/a.conf:1", after: "42" },
    ]);
    // A fresh plan makes its basis on first read (a hash of all it was made from): showing it reads none.
    const fresh = { changes: [], summary: {}, empty: true } as unknown as PlanWithBasis;
    Object.defineProperty(fresh, "basis", {
      get: () => {
        throw new Error("the basis was read");
      },
    });
    expect(publicPlan(fresh, (h) => h)).toEqual({ changes: [], summary: {}, empty: true });
  });
});

describe("validate accepts what plan accepts", () => {
  test("a flexkube document with only a previousState validates (exit 0) as plan reads it", async () => {
    writeFileSync(
      join(dir, "flexkube.yaml"),
      "previousState:\n  web:\n    container:\n      config: { name: web, image: busybox:latest }\n" +
        `      runtime: { docker: { host: "unix://${dir}/no-engine.sock" } }\n    host: { directConfig: {} }\n`,
    );
    const run = await runCli(["-c", "flexkube.yaml", "-s", "fk-state.yaml", "validate"], dir);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toContain("1 recorded in the state");
    // plan reads the same document: the recorded container is to be removed (its host blocked here).
    const plan = await runCli(["-c", "flexkube.yaml", "-s", "fk-state.yaml", "--json", "plan"], dir);
    expect(JSON.parse(plan.stdout).plan.changes[0].name).toBe("web");
  });
});

describe("quiet and named output", () => {
  test("a warning that brings its own WARNING: prefix is not prefixed twice", () => {
    let stderr = "";
    const io = { ...ioFor(), stderr: { write: (s: string) => (stderr += s) } };
    warn(io, "WARNING: not verifying the host key of node1 (hostKeyPolicy: insecure)");
    warn(io, "the lock is stale");
    expect(stderr).toBe(
      "warning: not verifying the host key of node1 (hostKeyPolicy: insecure)\nwarning: the lock is stale\n",
    );
  });

  test("plan and status lines name the host from the config, with the address beside it", async () => {
    const plan = await runCli(["plan"], dir);
    expect(plan.stdout).toContain("web blocked on node1 (local)");
    expect(plan.stderr).toContain("web on host node1 (local) is blocked");
    const status = await runCli(["status"], dir);
    expect(status.stdout).toMatch(/^HOST\s+ADDRESS\s+NAME\s+STATUS/);
    expect(status.stdout).toMatch(/\nnode1\s+local\s+web\s+unreachable/);
  });
});

function ioFor(): CliIO {
  const stdin = new PassThrough();
  stdin.end();
  return { stdout: { write: () => true }, stderr: { write: () => true }, stdin, env: { NO_COLOR: "1" }, cwd: dir };
}

describe("host names", () => {
  test("every host of hosts: is named, also one no container uses any more", () => {
    const doc = {
      hosts: {
        here: { direct: {} },
        node1: { ssh: { address: "10.0.0.11" } },
        node2: { ssh: { address: "10.0.0.12" } },
      },
      containers: { web: { host: "node2" } },
    };
    const names = hostNamesOf(doc, { web: { host: { sshConfig: { address: "10.0.0.12" } } } } as never);
    expect(hostDisplay(names, "10.0.0.11")).toBe("node1 (10.0.0.11)");
    expect(hostDisplay(names, "10.0.0.12")).toBe("node2 (10.0.0.12)");
    expect(hostDisplay(names, "local")).toBe("here (local)");
    expect(hostDisplay(names, "10.9.9.9")).toBe("10.9.9.9");
  });
});
