/**
 * schema/output.schema.json, the documented `--json` format, against what the CLI really prints
 * (commands run in-process; the one host is a Docker socket that does not exist, so no fleet is
 * needed) and against events of every kind the JSON stream serialises. The NDJSON stream of an
 * apply on a real engine is checked in tests/integration/cli-progress.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { inlineRefs, schemaErrors } from "../support/json-schema.ts";
import { FORMAT_VERSION, publicEvent, publicPlan } from "../../cli/json-output.ts";
import { BerthError } from "../../core/errors.ts";
import type { ApplyEvent } from "../../engine/apply.ts";
import type { PlanWithBasis } from "../../engine/containers.ts";
import type { PlannedChange } from "../../engine/plan.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");
const SCHEMA = JSON.parse(readFileSync(join(ROOT, "schema", "output.schema.json"), "utf8"));

/** Where `value` breaks the schema's definition `name`. */
function errors(name: string, value: unknown): string[] {
  return schemaErrors(inlineRefs({ $ref: `#/$defs/${name}` }, SCHEMA), value);
}

const dir = mkdtempSync(join(tmpdir(), "berth-output-schema-"));
writeFileSync(
  join(dir, "config.yaml"),
  `hosts:\n  node1: { direct: {} }\nruntime:\n  docker: { host: "unix://${dir}/no-engine.sock" }\n` +
    "containers:\n  web: { host: node1, image: busybox:latest, args: [sleep, '60'] }\n",
);
writeFileSync(join(dir, "bad.yaml"), "hosts: {}\ncontainers:\n  web: { host: nowhere, image: x }\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const change: PlannedChange = {
  name: "web",
  action: "recreate",
  host: "10.0.0.2",
  fromHost: "10.0.0.1",
  reasons: ["image changed"],
  diff: [{ op: "~", path: "args", before: '["a"]', after: '["b",1]' }, { op: "+", path: "env.TOKEN", sensitive: true }],
  files: ["/etc/web.conf"],
  directories: [],
  unknown: ["/etc/web.conf"],
  replaces: "0123456789ab",
};
const names = (h: string) => ({ "10.0.0.1": "node1", "10.0.0.2": "node2" } as Record<string, string>)[h] ?? h;
const line = (body: Record<string, unknown>) => JSON.parse(JSON.stringify({ formatVersion: FORMAT_VERSION, ...body }));

describe("schema/output.schema.json", () => {
  test("is shipped in the npm package and the JSR package", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
    expect(pkg.files).toContain("schema/output.schema.json");
    expect(deno.publish.include).toContain("schema/output.schema.json");
  });

  test("every reference resolves and every definition is reachable from the root", () => {
    const text = JSON.stringify(SCHEMA);
    for (const name of Object.keys(SCHEMA.$defs)) {
      expect({ name, used: text.includes(`"#/$defs/${name}"`) }).toEqual({ name, used: true });
    }
    expect(() => inlineRefs(SCHEMA)).not.toThrow();
  });

  test("what the commands print with --json conforms, errors included", async () => {
    const runs: Array<[string, string[], string]> = [
      ["versionOutput", ["version", "--json"], "version"],
      ["validateOutput", ["validate", "--json"], "validate"],
      ["errorOutput", ["--json", "-c", "bad.yaml", "validate"], "a bad config"],
      ["errorOutput", ["plan", "--json", "--no-such-flag"], "a usage error"],
      ["planOutput", ["plan", "--json"], "plan"],
      ["statusOutput", ["status", "--json"], "status"],
      ["errorOutput", ["logs", "web", "--json", "-s", "empty.yaml"], "logs of a container not in the state"],
    ];
    for (const [def, args, what] of runs) {
      const run = await runCli(args, dir);
      const out = JSON.parse(run.stdout);
      expect({ what, errors: errors(def, out) }).toEqual({ what, errors: [] });
      expect({ what, formatVersion: out.formatVersion }).toEqual({ what, formatVersion: FORMAT_VERSION });
      // The root schema takes any of them too.
      expect({ what, errors: schemaErrors(inlineRefs(SCHEMA), out) }).toEqual({ what, errors: [] });
    }
  });

  test("apply --json and destroy --json: every line of the stream conforms, each a line of its own", async () => {
    for (const args of [["apply", "--yes"], ["destroy", "--yes"]]) {
      const run = await runCli([...args, "--json", "-s", `${args[0]}-state.yaml`], dir);
      const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect({ args, errors: errors("applyStreamLine", l) }).toEqual({ args, errors: [] });
    }
    // apply: a plan line then a summary line (the one change is blocked); destroy of an empty state: an error line.
    const apply = await runCli(["apply", "--yes", "--json", "-s", "apply-state.yaml"], dir);
    expect(apply.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).type)).toEqual(["plan", "summary"]);
    const destroy = await runCli(["destroy", "--yes", "--json", "-s", "destroy-state.yaml"], dir);
    const last = JSON.parse(destroy.stdout.trimEnd().split("\n").at(-1) as string);
    expect({ type: last.type, ok: last.ok, code: last.error.code }).toEqual({
      type: "error",
      ok: false,
      code: "VALIDATION",
    });
  });

  test("a plan with every optional part conforms: moves, secrets, files, volume and network removals", () => {
    const removal = { name: "data", host: "10.0.0.1", via: "db", warning: "its data is lost" };
    const plan = {
      changes: [change],
      volumes: [removal],
      networks: [removal],
      summary: { recreate: 1 },
      empty: false,
      basis: {},
    } as unknown as PlanWithBasis;
    expect(errors("planOutput", line({ plan: publicPlan(plan, names) }))).toEqual([]);
  });

  test("events of every type conform, one the CLI does not know included, with its own fields", () => {
    const error = new BerthError("ENGINE", "creating container web on host node2: no space left");
    const events = [
      { type: "begin", change },
      { type: "done", change, durationMs: 1234.5 },
      { type: "failed", change, durationMs: 12, error },
      { type: "skipped", change },
      // As the health-gate work adds them: a type and fields the serialiser passes through as they are.
      { type: "gate-waiting", change, gate: "http", attempt: 2, untilMs: 30_000 },
    ] as unknown as ApplyEvent[];
    for (const event of events) {
      const out = line(publicEvent(event, names));
      expect({ type: event.type, errors: errors("eventLine", out) }).toEqual({ type: event.type, errors: [] });
      expect({ type: event.type, errors: errors("applyStreamLine", out) }).toEqual({ type: event.type, errors: [] });
    }
    const failed = line(publicEvent(events[2] as ApplyEvent, names));
    expect(failed.error).toEqual({ code: "ENGINE", message: error.message });
    expect(failed.hostName).toBe("node2");
    expect(failed.fromHostName).toBe("node1");
    expect(line(publicEvent(events[4] as ApplyEvent, names))).toMatchObject({ gate: "http", attempt: 2 });
  });

  test("it refuses what breaks the contract", () => {
    const plan = line({ plan: publicPlan({ changes: [change], summary: {}, empty: true } as never, names) });
    expect(errors("planOutput", plan)).toEqual([]);
    const { formatVersion: _v, ...unversioned } = plan;
    expect(errors("planOutput", unversioned)).toEqual(["$: missing formatVersion"]);
    const extra = structuredClone(plan);
    extra.plan.changes[0].surprise = 1;
    expect(errors("planOutput", extra)).toEqual(["$.plan.changes[0].surprise: unknown field"]);
    const badAction = structuredClone(plan);
    badAction.plan.changes[0].action = "explode";
    expect(errors("planOutput", badAction).join()).toContain("$.plan.changes[0].action: not one of create");
    // An event line without its change, or dressed as a summary.
    expect(errors("eventLine", line({ type: "done" })).join()).toContain("missing name");
    expect(errors("applyStreamLine", line({ type: "summary", name: "web" }))).not.toEqual([]);
  });
});
