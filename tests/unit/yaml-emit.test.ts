/**
 * core/yaml-emit.ts writes the same bytes as the yaml library's stringify,
 * which wrote state.yaml before it (but for a key `<<`, quoted on both roads:
 * libraryYaml): checked on generated data full of odd
 * strings (quotes, indicators, numbers as text, line breaks, control and
 * non-BMP characters, document markers, long keys) and on whole states.
 */
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { describe, expect, test } from "../support/harness.ts";
import { emitYaml, libraryYaml } from "../../core/yaml-emit.ts";
import { parseDocument, stateDocument, stateFromDocument, stateToYaml } from "../../core/serialize.ts";
import type { ContainersState } from "../../core/model.ts";

const LIBRARY = { version: "1.2", lineWidth: 0, aliasDuplicateObjects: false } as const;

/** Strings the library writes in every one of its styles. */
const ODD = [
  "",
  "<<",
  " ",
  "a b",
  " lead",
  "trail ",
  "1",
  "-1",
  "0x1F",
  "0o17",
  "1e3",
  "1.5",
  ".5",
  ".inf",
  "-.Inf",
  ".nan",
  "true",
  "False",
  "NULL",
  "~",
  "yes",
  "on",
  "-",
  "- x",
  "?",
  "? x",
  ":",
  "a:",
  "a: b",
  "a:b",
  "#x",
  "a #b",
  "a#b",
  "&a",
  "*a",
  "!t",
  "|",
  ">",
  "%x",
  "@x",
  "`x",
  "'q'",
  "it's",
  '"dq"',
  "both ' and \"",
  "back\\slash",
  "---",
  "--- x",
  "...",
  "a\n---\nb",
  "line\n",
  "two\nlines",
  "\nlead newline",
  "trail newline\n\n",
  "  indented\nnext",
  "tab\tin",
  "\ttab",
  "a\r\nb",
  "nul\0",
  "bell\x07",
  "esc\x1b",
  "del\x7f",
  "c1\x85",
  "nbsp\u00a0",
  "ls\u2028ps\u2029",
  "lone \ud800",
  "emoji \u{1F600}",
  "é",
  "[x]",
  "{x}",
  "a,b",
  "unix:///var/run/docker.sock",
  "127.0.0.1:5000/busybox:1.36",
  "sha256:0123abcd",
  "sensitive:hmac-sha256:00ff",
  "k".repeat(1030),
];

const oddString = fc.oneof(
  fc.constantFrom(...ODD),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.array(fc.constantFrom(...ODD), { maxLength: 4 }).map((parts) => parts.join("")),
);

const scalar = fc.oneof(
  { weight: 6, arbitrary: oddString },
  fc.integer(),
  fc.boolean(),
  fc.double(),
  fc.constantFrom(-0, 2 ** 60),
);

const { tree } = fc.letrec<{ tree: unknown }>((t) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(t("tree"), { maxLength: 4 }),
    fc.dictionary(oddString, t("tree"), { maxKeys: 4, noNullPrototype: true }),
  ),
}));

describe("emitYaml()", () => {
  test("emitYaml() writes what the yaml library writes, on every odd string as a key and as a value", () => {
    for (const s of ODD) {
      for (const doc of [{ [s]: s }, { a: { [s]: [s, { [s]: s }] } }, [s, [s], { k: s }], { a: [[s, s], []] }]) {
        expect(emitYaml(doc)).toBe(libraryYaml(doc));
      }
    }
  });

  test("emitYaml() writes what the yaml library writes, on generated nested data", () => {
    fc.assert(fc.property(tree, (doc) => expect(emitYaml(doc)).toBe(libraryYaml(doc))), {
      numRuns: Number(process.env.EMIT_RUNS ?? 3000),
    });
  });

  test("emitYaml() hands data it does not write (null, undefined, Dates) to the library", () => {
    for (
      const doc of [{ a: null }, { a: undefined, b: 1 }, { a: undefined }, [undefined], { d: new Date(0) }, {}, []]
    ) {
      expect(emitYaml(doc)).toBe(libraryYaml(doc));
    }
  });

  test("a key << is written quoted and reads back as a key, not as a merge; other text is the library's", () => {
    for (const doc of [{ "<<": "" }, { a: { "<<": 1, b: [{ "<<": "x" }] } }, { "<<": new Date(0) }]) {
      const text = emitYaml(doc);
      expect(text).toContain('"<<":');
      expect(text.replaceAll('"<<":', "<<:")).toBe(stringify(doc, LIBRARY));
      expect(parseDocument(text, "state.yaml")).toEqual(parse(stringify(doc, LIBRARY), { version: "1.2" }));
    }
    expect(libraryYaml({ a: [1, "b"], "c d": { e: null } })).toBe(
      stringify({ a: [1, "b"], "c d": { e: null } }, LIBRARY),
    );
    // Found by tests/unit/fuzz.test.ts: a state with an env var named << could not be read back.
    const state: ContainersState = {
      A: {
        container: { config: { name: "0", image: "busybox", env: { "<<": "" } } },
        host: { sshConfig: { address: "198.18.0.11" } },
      },
    };
    expect(stateFromDocument(parseDocument(stateToYaml(state), "state.yaml"), "state.yaml")).toEqual(state);
  });

  test("stateToYaml() is the library's text of the same document for 1,000 containers", () => {
    const state: ContainersState = {};
    for (let i = 0; i < 1000; i++) {
      state[`c${i}`] = {
        container: {
          config: { name: `c${i}`, image: "127.0.0.1:5000/busybox:1.36", args: ["sleep", "1"], env: { A: "1" } },
          status: { id: "0123456789ab", status: "running" },
        },
        host: { sshConfig: { address: `127.77.0.${i % 250}`, port: 2222, user: "root" } },
        configFiles: { "/etc/app.conf": "a: b\n\n  c\n" },
      };
    }
    expect(stateToYaml(state)).toBe(libraryYaml(stateDocument(state)));
  });
});
