/**
 * core/yaml-fast.ts reads what the yaml library reads, the same way, or
 * leaves the text to the library: on generated documents written in every
 * style the library writes, on random YAML-ish text, and on hand-picked
 * corner cases. parseDocument's errors keep their lines and columns.
 */
import fc from "fast-check";
import { parseDocument as libraryParse, stringify } from "yaml";
import { parseDocument } from "../../core/serialize.ts";
import { NOT_READ, readFastYaml } from "../../core/yaml-fast.ts";
import { problemsOf } from "../support/errors.ts";
import { describe, expect, test } from "../support/harness.ts";

/** What the library makes of `text`: its data, or "error" when it reports any. */
function library(text: string): unknown {
  const doc = libraryParse(text, { version: "1.2", schema: "core", uniqueKeys: true, logLevel: "silent" });
  return doc.errors.length > 0 ? "error" : doc.toJS({ maxAliasCount: 100 });
}

/** The fast reader agrees with the library, or passes; returns whether it read the text. */
function agrees(text: string): boolean {
  const fast = readFastYaml(text);
  if (fast === NOT_READ) return false;
  expect({ text, value: fast }).toEqual({ text, value: library(text) });
  return true;
}

const CASES = [
  "a: 1\nb: [x, 'y z', \"w\"]\nc: { d: true, e: ~, f: 0x1F, g: 1e3, h: .inf }\n",
  "a:\n- 1\n- 2\nb: 3\n",
  "a:\n  - x: 1\n    y: 2\n  -   z: 3\n  -\n  - [1, [2, {}]]\n",
  "- a\n- b: c\n  d: e\n",
  "k: v # comment\n# whole line\n  # indented comment\nm: 'it''s'\n",
  "k: a#b\nl: -1\nm: :x\nn: ?x\no: a:b\np: x  y\n",
  '"quoted key": 1\n\'single\': 2\n"k" : 3\n',
  "a: \nb:\n",
  "1: a\n",
  "true: a\n",
  "a: 1\na: 2\n",
  "a: 1\n 1: 2\n",
  "a: b\n  c\n",
  "a: |\n  x\n",
  "a: &x 1\nb: *x\n",
  "a: !!str 1\n",
  "a: [1, 2,]\n",
  "a: [1,\n 2]\n",
  "a: {x: 1, x: 2}\n",
  "a: {x}\n",
  "a: {x:1}\n",
  "a: 'unclosed\n",
  'a: "x"y\n',
  "<<: {a: 1}\n",
  "__proto__: 1\n",
  "a: - b\n",
  "- - a\n",
  "---\na: 1\n",
  "a: 1\n---\nb: 2\n",
  "a:\tb\n",
  'a: "\\u0041"\n',
  "  a: 1\n",
  "",
  "# only a comment\n",
  "a: b: c\n",
  "a: [b: c]\n",
  "a: {b: [c, {d: e}], f: 'g'}\n",
  "a: b\u00a0\n\u00a0c: 1\nd: [e\u00a0, f]\ng\u3000: h\u2003\n",
  'a: "x\\ny\\t\\"q\\" \\\\ \\/ \\u00e9"\nb: ["\\n", {"k\\"": "v"}]\n',
  'a: "\\x41"\nb: "\\ud83d\\ude00"\nc: "\\\n  d"\n',
  "a: x\\y\nb: 'x\\y'\n",
  "a: |\n  # not a comment\n  x\n\n    y\n\n\nb: |-\n    z\n\n  # comment\nc: 1\n",
  "- |\n  x\n- |-\n  y\n-\n  k: |\n    z\n",
  "a: |\n  x\n   \nb: 1\n",
  "a: |\n\n  x\n",
  "a: |\n    x\n  y\n",
  "a: |\nb: 1\n",
  "a: |\n  x",
  "a: |+\n  x\n\n",
  "a: |2\n   x\n",
  "a: >\n  x\n",
  "a: | # c\n  x\n",
  "a: [~, ~x, null, Null, NULL, nULL, nul, nulls, true, True, TRUE, tRUE, false, FALSE, yes, no, x1, n, t, f]\n",
  "b: [0o7, 0o8, 0x1f, 0xg, -1, +1, .5, -.inf, .NaN, .nan, .Nan, 1e3, 1.5e-3, 1., 1.x, +x, .x, 0-1]\n",
  "a:\n  b:\n    c:\n      - d\n  e: f\ng: h\n",
];

describe("readFastYaml()", () => {
  test("reads hand-picked documents as the library does, or leaves them to it", () => {
    let read = 0;
    for (const text of CASES) if (agrees(text)) read++;
    expect(read).toBeGreaterThan(8);
  });

  test("reads documents the library writes, in every style, as the library reads them", () => {
    const key = fc.oneof(fc.constantFrom("a", "b c", "k-1", "x.y", "1", "true", "#", "-", "a: b"), fc.string());
    const scalar = fc.oneof(
      fc.string(),
      fc.constantFrom("", "~", "null", "True", "0o17", "0x1F", "1e3", "-.inf", "a #b", "a: b", "'q'", '"dq"', "- x"),
      // Multi-line text and escapes: block scalars and double-quoted escapes (config files in state.yaml).
      fc.constantFrom("a\nb", "a\nb\n", "# c\n\nx = 1\n\n", "  lead\nx\n", "x\n  y\n", "t\tab", 'é \\ "q" /', "\n"),
      fc.array(fc.constantFrom("a", " ", "\n", "#", "\\", '"', "é", ":"), { maxLength: 12 }).map((p) => p.join("")),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const { tree } = fc.letrec<{ tree: unknown }>((t) => ({
      tree: fc.oneof(
        { depthSize: "small" },
        scalar,
        fc.array(t("tree"), { maxLength: 4 }),
        fc.dictionary(key, t("tree"), { maxKeys: 4, noNullPrototype: true }),
      ),
    }));
    const style = fc.record({
      collectionStyle: fc.constantFrom("any" as const, "block" as const, "flow" as const),
      defaultStringType: fc.constantFrom("PLAIN" as const, "QUOTE_DOUBLE" as const, "QUOTE_SINGLE" as const),
      indent: fc.constantFrom(2, 4),
      indentSeq: fc.boolean(),
    });
    let read = 0;
    fc.assert(
      fc.property(fc.dictionary(key, tree, { minKeys: 1, maxKeys: 5 }), style, (doc, options) => {
        if (agrees(stringify(doc, { ...options, lineWidth: 0, version: "1.2" }))) read++;
      }),
      { numRuns: 1000 },
    );
    expect(read).toBeGreaterThan(100);
  }, 120_000);

  test("reads random YAML-ish text as the library does, or leaves it to it", () => {
    const alphabet = [
      ..."ab1 :-,[]{}#'\"\n?&*!|>%@`.~\\",
      ...["\n  ", "\n- ", ": ", "  - ", "true", "0x1", ": |\n  ", ": |-\n", '"\\n', "\\u0041", "\n    "],
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }), (parts) => void agrees(parts.join(""))),
      { numRuns: 5000 },
    );
  }, 120_000);

  test("errors still come from the library, with line and column", () => {
    expect(problemsOf(() => parseDocument("a: 1\nb: [x,\n", "c.yaml"))[0]?.path).toMatch(/^c\.yaml:\d+:\d+$/);
    const dup = problemsOf(() => parseDocument("a: 1\nb: 2\na: 3\n", "c.yaml"));
    expect(dup[0]?.path).toBe("c.yaml:3:1");
    expect(dup[0]?.message).toContain('"a" is also at line 1, column 1');
  });
});
