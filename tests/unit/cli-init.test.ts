/**
 * `berth init` and the config's shared fragments: the starter config passes `validate` (and the shipped
 * schema), is not overwritten without --force; YAML merge keys and top-level `x-*` keys are read as compose
 * reads them, other unknown top-level keys are still refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { schemaErrors } from "../support/json-schema.ts";
import { configFromDocument } from "../../core/config.ts";
import { parseDocument } from "../../core/serialize.ts";
import { SCHEMA_URL } from "../../cli/init.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");
const SCHEMA = JSON.parse(readFileSync(join(ROOT, "schema", "config.schema.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "berth-cli-init-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("berth init", () => {
  test("writes a commented config that validates, with the schema line; refuses to overwrite without --force", async () => {
    const first = await runCli(["init"], dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Wrote config.yaml");
    const text = readFileSync(join(dir, "config.yaml"), "utf8");
    expect(text.split("\n")[0]).toBe(`# yaml-language-server: $schema=${SCHEMA_URL}`);
    expect(text).toMatch(/^# .*berth plan/m);
    // Another road than the validator: the shipped JSON Schema accepts it too.
    expect(schemaErrors(SCHEMA, parseDocument(text, "config.yaml"))).toEqual([]);
    const valid = await runCli(["validate"], dir);
    expect(valid.stderr).toBe("");
    expect(valid.stdout).toBe("config.yaml is valid: 1 containers on 1 hosts.\n");
    expect(valid.code).toBe(0);

    writeFileSync(join(dir, "config.yaml"), "mine\n");
    const again = await runCli(["init"], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("config.yaml already exists: pass --force to overwrite it");
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe("mine\n");
    const forced = await runCli(["init", "--force"], dir);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe(text);
  });

  test("--config names the file written", async () => {
    const run = await runCli(["--config", "other.yaml", "init"], dir);
    expect(run.code).toBe(0);
    expect((await runCli(["--config", "other.yaml", "validate"], dir)).code).toBe(0);
  });
});

describe("shared fragments", () => {
  const config = (text: string) => configFromDocument(parseDocument(text, "config.yaml"), "config.yaml", { env: {} });
  const base = [
    "hosts: { n1: { direct: {} } }",
    "x-defaults: &defaults { host: n1, image: busybox:1, restartPolicy: always, env: { A: '1' } }",
    "x-env: &env { env: { B: '2' } }",
  ];

  test("merge keys bring a fragment's fields; the container's own win; x-* keys are not read", () => {
    const { desiredState } = config([
      ...base,
      "containers:",
      "  one: { <<: *defaults, image: busybox:2 }",
      "  two: { <<: [*env, *defaults] }",
    ].join("\n"));
    expect(desiredState["one"]?.container.config).toEqual({
      name: "one",
      image: "busybox:2",
      restartPolicy: "always",
      env: { A: "1" },
    });
    // In a list, the first fragment that has a key wins (YAML 1.1 merge).
    expect(desiredState["two"]?.container.config.env).toEqual({ B: "2" });
    expect(desiredState["two"]?.container.config.image).toBe("busybox:1");
  });

  test("an x-* fragment with an unset variable is not read; other unknown top-level keys are still refused", () => {
    expect(() => config([...base, "x-unused: ${env:NOT_SET}", "containers: {}"].join("\n"))).not.toThrow();
    expect(() => config([...base, "defaults: {}", "containers: {}"].join("\n"))).toThrow(
      /defaults: unknown field "defaults"/,
    );
    const doc = parseDocument([...base, "defaults: {}", "containers: {}"].join("\n"), "config.yaml");
    expect(schemaErrors(SCHEMA, doc)).toEqual(["$.defaults: unknown field"]);
  });
});
