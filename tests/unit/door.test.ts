/**
 * Files refused at the door: keys that become one once read, bytes that are
 * not UTF-8, an empty state file, and a state write that cannot be cut short.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { canonicalJson } from "../../core/hash.ts";
import type { ContainersState } from "../../core/model.ts";
import { decodeUtf8, parseDocument, stripSecrets } from "../../core/serialize.ts";
import { planBasis } from "../../engine/basis.ts";
import { readStateFile, writeStateFile } from "../../store/state-file.ts";
import { problemsOf } from "../support/errors.ts";
import { describe, expect, test } from "../support/harness.ts";

describe("parseDocument() duplicate keys", () => {
  test("a number and a quoted string with the same text are refused as one key, with both places", () => {
    const problems = problemsOf(() => parseDocument('containers:\n  1: { a: 1 }\n  "1": { a: 2 }\n', "c.yaml"));
    expect(problems.length).toBe(1);
    expect(problems[0]?.path).toBe("c.yaml:3:3");
    expect(problems[0]?.message).toContain('"1" is also at line 2, column 3');
  });

  test('~ and an empty string, 1.0 and 1, true and "true" are duplicates too; distinct keys pass', () => {
    for (const doc of ['{~: a, "": b}', '{1.0: a, "1": b}', '{true: a, "true": b}', "{0x1: a, 1: b}"]) {
      expect(() => parseDocument(doc, "c.yaml")).toThrow("Map keys must be unique");
    }
    expect(parseDocument('{null: a, "null": b, 1: c, "2": d}', "c.yaml")).toEqual({
      "": "a",
      null: "b",
      1: "c",
      2: "d",
    });
  });

  // Growth, not speed (speed is the bench's): 10x the keys must cost far less than the 100x a
  // quadratic check costs (the YAML library's own check took minutes here).
  test("a mapping of 100,000 keys is checked in linear time", () => {
    const parse = (n: number) => {
      // The anchor keeps core/yaml-fast.ts out: this is about the library path's own key check.
      const lines = Array.from({ length: n }, (_, i) => `k${i}: ${i === 0 ? "&first " : ""}${i}`).join("\n");
      const started = performance.now();
      const doc = parseDocument(lines, "big.yaml") as Record<string, number>;
      expect(doc[`k${n - 1}`]).toBe(n - 1);
      return performance.now() - started;
    };
    parse(10_000); // warm-up
    const small = parse(10_000);
    const large = parse(100_000);
    expect(large / small).toBeLessThan(40);
  }, 120_000);
});

describe("parseDocument() strings with no UTF-8 form", () => {
  test("half a surrogate pair written as an escape is refused with its place; a whole pair passes", () => {
    const problems = problemsOf(() => parseDocument('a: ok\nb: "x\\ud800y"\n', "c.yaml"));
    expect(problems[0]?.path).toBe("c.yaml:2:4");
    expect(problems[0]?.message).toContain("half of a UTF-16 surrogate pair");
    expect(() => parseDocument('b: "\\udc00"', "c.yaml")).toThrow("surrogate");
    expect(parseDocument('b: "\\ud83d\\ude00"', "c.yaml")).toEqual({ b: "\u{1F600}" });
  });
});

describe("decodeUtf8()", () => {
  test("bytes that are not UTF-8 are refused with line and column, never turned into U+FFFD", () => {
    const bytes = new TextEncoder().encode("a: 1\nb: ok\u00e9 x\n");
    const bad = new Uint8Array([...bytes.subarray(0, 14), 0xff, ...bytes.subarray(14)]);
    const problems = problemsOf(() => decodeUtf8(bad, "c.yaml"));
    expect(problems[0]?.path).toBe("c.yaml:2:9");
    expect(problems[0]?.message).toContain("byte 0xff at offset 14 is not valid UTF-8");
    for (const seq of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf5, 0x80, 0x80, 0x80]]) {
      expect(() => decodeUtf8(new Uint8Array([0x61, ...seq]), "c.yaml")).toThrow("c.yaml:1:2");
    }
    expect(decodeUtf8(new TextEncoder().encode("\ufeffé€𝄞"), "c.yaml")).toBe("é€𝄞");
  });
});

describe("state file", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-door-"));

  test("an empty state file is an error that says how to proceed", async () => {
    writeFileSync(join(dir, "empty.yaml"), "");
    await expect(readStateFile(join(dir, "empty.yaml"))).rejects.toThrow(
      /is empty.*first run, delete it.*berth state recover --force/,
    );
  });

  test("a state file that is not UTF-8 is refused, not read with U+FFFD", async () => {
    writeFileSync(join(dir, "bad.yaml"), new Uint8Array([0x76, 0x3a, 0x20, 0xff, 0x0a]));
    await expect(readStateFile(join(dir, "bad.yaml"))).rejects.toThrow("not valid UTF-8");
  });

  test("a written state reads back equal, with mode 0600", async () => {
    const path = join(dir, "state.yaml");
    const state = {
      web: { container: { config: { name: "web", image: "nginx:1.25" } }, host: { directConfig: {} } },
    };
    await writeStateFile(path, state);
    expect((await readStateFile(path)).state).toEqual(state);
    expect(readFileSync(path, "utf8")).toContain("version: 1");
  });
});

describe("planBasis()", () => {
  test("hashes exactly canonicalJson() of its inputs, also with contents larger than one chunk", () => {
    const big = `${"é".repeat((1 << 20) - 1)}😀${'x\n"'.repeat(1000)}`;
    const desired: ContainersState = {
      web: {
        container: { config: { name: "web", image: "nginx", env: { B: "2", A: "1" }, args: ["a", "b"] } },
        host: { directConfig: {} },
        configFiles: { "/etc/big": big },
      },
    };
    const basis = planBasis({}, desired, { web: { files: { "/etc/big": big }, mounts: {} } });
    const sha = (v: unknown) => createHash("sha256").update(canonicalJson(v)).digest("hex");
    expect(basis.desired).toBe(sha(stripSecrets(desired)));
    expect(basis.state).toBe(sha({}));
    expect(basis.observed["web"]?.hash).toBe(sha({ files: { "/etc/big": big }, mounts: {} }));
  });
});
