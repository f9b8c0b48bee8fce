import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import ts from "typescript";
import { describe, expect, test } from "../support/harness.ts";
import { schemaErrors } from "../support/json-schema.ts";
import { configFromDocument } from "../../core/config.ts";
import { isFlexkubeDocument } from "../../core/flexkube-document.ts";
import { isMapping } from "../../core/shape.ts";
import { parseDocument } from "../../core/serialize.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");
const SHIPPED = JSON.parse(readFileSync(join(ROOT, "schema", "config.schema.json"), "utf8"));
// Every reference resolves, so a config is judged on its shape alone.
const ANY_ENV = new Proxy({}, { get: (_t, name) => (typeof name === "string" ? "x" : undefined) });

function accepted(doc: unknown): boolean {
  try {
    configFromDocument(doc, "config.yaml", { env: ANY_ENV as Record<string, string> });
    return true;
  } catch {
    return false;
  }
}

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(suffix)).map((f) =>
    join(dir, f)
  );
}

/** YAML blocks in a markdown file or a module doc comment that are whole configs (they have containers:). */
function yamlBlocks(text: string): string[] {
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/^ \* ?/gm, ""));
  return blocks.filter((block) => /^containers:/m.test(block));
}

type Slot = [Record<string, unknown> | unknown[], string | number];

/** Every field and list item of a document, as (parent, key). */
function slotsOf(value: unknown, out: Slot[] = []): Slot[] {
  if (Array.isArray(value)) value.forEach((item, i) => (out.push([value, i]), slotsOf(item, out)));
  else if (isMapping(value)) { for (const [k, v] of Object.entries(value)) (out.push([value, k]), slotsOf(v, out)); }
  return out;
}

/** The text of every template literal in a TypeScript file, each interpolation (an address, a prefix) read as "x". */
function templateTexts(file: string): string[] {
  const texts: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isNoSubstitutionTemplateLiteral(node)) texts.push(node.text);
    if (ts.isTemplateExpression(node)) {
      texts.push(node.head.text + node.templateSpans.map((s) => `x${s.literal.text}`).join(""));
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest));
  return texts;
}

/**
 * berth configs written as template literals in the tests (what berth refuses
 * is left out). Most tests build their configs in code, hence the property
 * test below as well.
 */
function configsInTests(): Array<[string, unknown]> {
  const found: Array<[string, unknown]> = [];
  for (const file of files(join(ROOT, "tests"), ".ts")) {
    for (const text of templateTexts(file)) {
      if (!/^containers:/m.test(text)) continue;
      let doc: unknown;
      try {
        doc = parseDocument(text, file);
      } catch {
        continue;
      }
      if (isMapping(doc) && !isFlexkubeDocument(doc) && accepted(doc)) found.push([file.slice(ROOT.length + 1), doc]);
    }
  }
  return found;
}

describe("schema/config.schema.json", () => {
  test("the shipped schema is the one generated from the declarations (npm run schema)", async () => {
    const { configSchema } = await import("../../core/config.ts");
    expect(readFileSync(join(ROOT, "schema", "config.schema.json"), "utf8")).toBe(
      `${JSON.stringify(configSchema(), null, 2)}\n`,
    );
  });

  test("every example config validates against it", () => {
    const examples = files(join(ROOT, "examples"), "config.yaml");
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const file of examples) {
      const doc = parseDocument(readFileSync(file, "utf8"), file);
      expect(accepted(doc)).toBe(true);
      expect({ file, errors: schemaErrors(SHIPPED, doc) }).toEqual({ file, errors: [] });
    }
  });

  test("the config references (README, core/config.ts) validate against it", () => {
    const blocks = [
      ...yamlBlocks(readFileSync(join(ROOT, "README.md"), "utf8")),
      ...yamlBlocks(readFileSync(join(ROOT, "core", "config.ts"), "utf8")),
    ];
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      const doc = parseDocument(block, "reference");
      expect(accepted(doc)).toBe(true);
      expect(schemaErrors(SHIPPED, doc)).toEqual([]);
    }
  });

  test("every config in the tests that berth accepts validates against it", () => {
    const configs = configsInTests();
    expect(configs.length).toBeGreaterThanOrEqual(2);
    for (const [file, doc] of configs) {
      expect({ file, errors: schemaErrors(SHIPPED, doc) }).toEqual({ file, errors: [] });
    }
  });

  test("no variant of a valid config that berth accepts is rejected by the schema", () => {
    const seed = parseDocument(yamlBlocks(readFileSync(join(ROOT, "core", "config.ts"), "utf8"))[0] as string, "seed");
    const leaves = fc.constantFrom<unknown>(
      "",
      "x",
      "/srv",
      "host",
      "container:etcd",
      "udp",
      "rshared",
      "30s",
      "${env:X}",
      "unix:///run/x.sock",
      "tcp://10.0.0.1:2375",
      "10.0.0.1",
      0,
      80,
      70000,
      true,
      null,
      {},
      [],
    );
    let accepted_ = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), leaves, fc.boolean()), { minLength: 1, maxLength: 3 }), (edits) => {
        const doc = structuredClone(seed);
        for (const [at, value, remove] of edits) {
          const slots = slotsOf(doc);
          const [parent, key] = slots[at % slots.length] as Slot;
          if (remove && !Array.isArray(parent)) delete parent[key];
          else (parent as Record<string | number, unknown>)[key] = value;
        }
        if (!accepted(doc)) return;
        accepted_++;
        expect(schemaErrors(SHIPPED, doc)).toEqual([]);
      }),
      { numRuns: 500, seed: 10 },
    );
    expect(accepted_).toBeGreaterThan(25);
  });

  const BAD: Array<[string, string]> = [
    ["an unknown top-level field", "hosts: {}\ncontainers: {}\nhots: {}"],
    ["no containers", "hosts: { a: { direct: {} } }"],
    ["a container without image", "hosts: { a: { direct: {} } }\ncontainers: { c: { host: a } }"],
    ["a misspelt container field", "hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, imgae: y } }"],
    [
      "a port out of range",
      "hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, ports: [ { port: 70000 } ] } }",
    ],
    [
      "a quoted port",
      'hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, ports: [ { port: "80" } ] } }',
    ],
    [
      "an unknown protocol",
      "hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, ports: [ { port: 80, protocol: icmp } ] } }",
    ],
    [
      "a relative mount source",
      "hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, mounts: [ { source: data, target: /d } ] } }",
    ],
    [
      "a relative workingDir",
      "hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, workingDir: srv } }",
    ],
    [
      "privileged as a string",
      'hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, privileged: "yes" } }',
    ],
    ["a host with both transports", "hosts: { a: { direct: {}, ssh: { address: h } } }\ncontainers: {}"],
    ["an address in the ssh defaults", "ssh: { address: h }\nhosts: {}\ncontainers: {}"],
    ["two runtimes", "runtime: { docker: {}, kubelet: {} }\nhosts: {}\ncontainers: {}"],
    ["a bad container name", "hosts: { a: { direct: {} } }\ncontainers: { -c: { host: a, image: x } }"],
    [
      "a relative config file path",
      "hosts: { a: { direct: {} } }\ncontainers: { c: { host: a, image: x, configFiles: { etc/x: y } } }",
    ],
  ];
  for (const [what, text] of BAD) {
    test(`the validator and the schema both reject ${what}`, () => {
      const doc = parseDocument(text, "bad.yaml");
      expect(accepted(doc)).toBe(false);
      expect(schemaErrors(SHIPPED, doc).length).toBeGreaterThan(0);
    });
  }
});
