/**
 * `berth logs` without a name when containers cannot be read (their engine's socket does not exist, so no
 * fleet is needed): each is reported with its name, the exit code is 1, and `--json` carries them under
 * `errors` as schema/output.schema.json documents.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { inlineRefs, schemaErrors } from "../support/json-schema.ts";
import { stateToYaml } from "../../core/serialize.ts";
import type { ContainersState } from "../../core/model.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");
const OUTPUT = JSON.parse(readFileSync(join(ROOT, "schema", "output.schema.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "berth-logs-all-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runtime = { docker: { host: `unix://${dir}/no-engine.sock` } };
writeFileSync(
  join(dir, "config.yaml"),
  `hosts:\n  node1: { direct: {} }\nruntime:\n  docker: { host: "${runtime.docker.host}" }\n` +
    "containers:\n  web: { host: node1, image: busybox:latest }\n  db: { host: node1, image: busybox:latest }\n",
);
const recorded = (name: string, id: string) => ({
  host: { directConfig: {} },
  container: { config: { name, image: "busybox:latest" }, runtime, status: { id, status: "running" } },
});
writeFileSync(
  join(dir, "state.yaml"),
  stateToYaml({ web: recorded("web", "a".repeat(64)), db: recorded("db", "b".repeat(64)) } as ContainersState),
);

describe("berth logs without a name", () => {
  test("containers that cannot be read are each reported; exit 1; --json lists them under errors", async () => {
    const run = await runCli(["logs"], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trimEnd().split("\n").filter((l) => l.startsWith("berth: "));
    expect(lines.length).toBe(2);
    expect(lines[0]).toContain('container "db"');
    expect(lines[1]).toContain('container "web"');
    const json = await runCli(["--json", "logs"], dir);
    expect(json.code).toBe(1);
    const out = JSON.parse(json.stdout);
    expect(Object.keys(out.containers)).toEqual([]);
    expect(Object.keys(out.errors).sort()).toEqual(["db", "web"]);
    expect(out.errors.web.code).toBe("CONNECT");
    expect(schemaErrors(inlineRefs({ $ref: "#/$defs/logsAllOutput" }, OUTPUT), out)).toEqual([]);
  });
});
