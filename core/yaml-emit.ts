/**
 * A direct YAML emitter for plain data (maps, arrays, strings, integers,
 * booleans), written for berth's state file: it gives the same bytes as the
 * `yaml` library's `stringify(value, { version: "1.2", lineWidth: 0,
 * aliasDuplicateObjects: false })`, about 20x faster. The library builds a
 * node tree and tests every scalar against every rule; state is written
 * after every apply step, so at 1,000 containers that was most of an apply's
 * time. Strings that are plainly plain are written here; every other scalar
 * (quoted, block, float) is handed to the library in a one-pair document and
 * re-indented, and anything unusual (null, a key over 1,024 characters) makes
 * the whole document the library's. One difference, on both roads: a key
 * `<<` is written quoted, because berth reads YAML with merge keys on (as
 * compose files use them) and a plain `<<` would be read as one
 * ({@link libraryYaml}). tests/unit/yaml-emit.test.ts compares both on
 * generated states and odd strings.
 *
 * @module
 */
import { Document, isScalar, stringify, visit } from "yaml";

const OPTIONS = { version: "1.2", lineWidth: 0, aliasDuplicateObjects: false } as const;

/** The key a reader with merge keys on takes for a merge when it is plain. */
const MERGE_KEY = "<<";

/**
 * The library's text of `value` (`stringify(value, { version: "1.2",
 * lineWidth: 0, aliasDuplicateObjects: false })`), with every key `<<`
 * double-quoted so that it reads back as a key.
 */
export function libraryYaml(value: unknown): string {
  const doc = new Document(value, OPTIONS);
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === MERGE_KEY) pair.key.type = "QUOTE_DOUBLE";
    },
  });
  return doc.toString(OPTIONS);
}

/** Thrown inside the emitter when only the library knows the answer; caught at the top. */
class NotPlain extends Error {}

/** Characters that make the library double-quote and escape (control characters, lone surrogates), or a line break. */
// deno-lint-ignore no-control-regex -- control characters are what this finds
const SPECIAL = /[\x00-\x1f\x7f-\x9f\u{D800}-\u{DFFF}"\\]/u;

/** Starts, ends or contains what a plain scalar cannot: the library's own test (yaml's stringifyString.js). */
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;

/** A line that a parser may take for a document marker: the library treats these by depth and role. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

/** The core schema's non-string tags (bool, null, int, float): a plain string they match is quoted. */
const OTHER_TAGS = new Document(null, { version: "1.2" }).schema.tags.filter((tag) =>
  tag.default === true && tag.tag !== "tag:yaml.org,2002:str" && tag.test !== undefined
).map((tag) => tag.test as RegExp);

/** What a bool, null, int or float starts with (or the empty null): other strings skip those tests. */
const MAYBE_OTHER = /^(?:[-+.0-9~TtFfNn]|$)/;

/**
 * A one-line string as the library writes it (plain, or in double quotes with
 * nothing to escape); undefined when it takes more (escapes, single quotes, a
 * block). `topKey`: a key of the document's top mapping, where the library
 * also quotes what looks like a document marker.
 */
function simpleString(value: string, topKey: boolean): string | undefined {
  if (SPECIAL.test(value)) return undefined;
  const quoted = NOT_PLAIN.test(value) || (topKey && DOCUMENT_MARKER.test(value)) ||
    (MAYBE_OTHER.test(value) && OTHER_TAGS.some((test) => test.test(value)));
  return quoted ? `"${value}"` : value;
}

/**
 * The same text as {@link libraryYaml}, for plain data (no cycles, no shared objects).
 */
export function emitYaml(value: unknown): string {
  try {
    const out: string[] = [];
    if (isMapping(value) && hasPairs(value)) emitMap(value, "", out, false);
    else if (Array.isArray(value) && value.length > 0) emitSeq(value, "", out, false);
    else return libraryYaml(value);
    return `${out.join("")}\n`;
  } catch (err) {
    if (err instanceof NotPlain) return libraryYaml(value);
    throw err;
  }
}

/** A plain object; any other object (a Date, a Map) is the library's to write. */
function isMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new NotPlain();
  return true;
}

/** The library leaves out pairs whose value is undefined. */
function hasPairs(map: Record<string, unknown>): boolean {
  for (const k in map) if (Object.hasOwn(map, k) && map[k] !== undefined) return true;
  return false;
}

/** A key as the library writes it before its `:`; `top`: a key of the document's top mapping. */
function key(k: string, top: boolean): string {
  if (k === MERGE_KEY) return `"${k}"`;
  const simple = simpleString(k, top);
  // The library writes a longer key as an explicit `? key`.
  if (simple !== undefined && simple.length <= 1024) return simple;
  const text = stringify(top ? { [k]: 0 } : { x: { [k]: 0 } }, OPTIONS);
  const start = top ? 0 : 5;
  if (!text.endsWith(": 0\n") || (!top && !text.startsWith("x:\n  ")) || text.startsWith("? ", start)) {
    throw new NotPlain();
  }
  return text.slice(start, -4);
}

/**
 * A scalar, or an empty map or array, as the library writes it after `key:`
 * or `- `, with the space before it; `indent` is the key's or dash's column.
 */
function scalarOrEmpty(value: unknown, indent: string): string {
  const simple = typeof value === "string" ? simpleString(value, false) : undefined;
  if (simple !== undefined) return simple;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
  if (Array.isArray(value) && value.length === 0) return "[]";
  if (isMapping(value) && !hasPairs(value)) return "{}";
  if (typeof value !== "string" && typeof value !== "number") throw new NotPlain();
  // The library's own text for this scalar in a one-pair document, moved to this depth: its block scalars are
  // indented one step past the key, as they would be here.
  const text = stringify({ x: value }, OPTIONS);
  if (!text.startsWith("x:")) throw new NotPlain();
  const body = text.slice(2, -1);
  const moved = indent === "" ? body : body.replace(/\n(?=[^\n])/g, `\n${indent}`);
  return moved.startsWith(" ") ? moved.slice(1) : moved;
}

/** The separator and text after `key:` or `-`: inline for scalars and empty collections, else on new lines. */
function emitValue(value: unknown, indent: string, out: string[]): void {
  const inner = `${indent}  `;
  if (isMapping(value) && hasPairs(value)) emitMap(value, inner, out, false);
  else if (Array.isArray(value) && value.length > 0) emitSeq(value, inner, out, false);
  else {
    const text = scalarOrEmpty(value, indent);
    out.push(text.startsWith("\n") ? text : ` ${text}`);
  }
}

/** Pairs at `indent`; the first one continues the current line when `inline` (after a `- `). */
function emitMap(map: Record<string, unknown>, indent: string, out: string[], inline: boolean): void {
  let first = true;
  for (const k of Object.keys(map)) {
    const value = map[k];
    if (value === undefined) continue;
    if (value === null) throw new NotPlain();
    if (!(first && inline)) out.push(out.length === 0 ? indent : `\n${indent}`);
    first = false;
    out.push(key(k, indent === "" && !inline), ":");
    emitValue(value, indent, out);
  }
}

/** Items at `indent`, each after `- `; the first one continues the current line when `inline`. */
function emitSeq(items: unknown[], indent: string, out: string[], inline: boolean): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!(i === 0 && inline)) out.push(out.length === 0 ? indent : `\n${indent}`);
    out.push("-");
    const inner = `${indent}  `;
    if (isMapping(item) && hasPairs(item)) {
      out.push(" ");
      emitMap(item, inner, out, true);
    } else if (Array.isArray(item) && item.length > 0) {
      out.push(" ");
      emitSeq(item, inner, out, true);
    } else {
      const text = scalarOrEmpty(item, indent);
      out.push(text.startsWith("\n") ? text : ` ${text}`);
    }
  }
}
