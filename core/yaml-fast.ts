/**
 * A fast reader for the plain YAML most configs are written in: block
 * mappings and sequences, one-line flow collections (`[a, b]`, `{ k: v }`),
 * plain and quoted one-line scalars (double-quoted ones with JSON's escapes),
 * literal block scalars (`|`, `|-`: how state.yaml holds config files),
 * comments. It gives the same data as the yaml library (YAML 1.2, core
 * schema) for what it reads, in linear time and about 10x faster; anything
 * else (anchors, tags, folded or indented block scalars, multi-line scalars
 * or flow, other escapes, tabs, several documents, duplicate keys, an error)
 * makes it answer {@link NOT_READ}, and the library reads the text
 * as before, with its messages, lines and columns. The library took 2.6 s
 * for 20k containers and grew worse than linearly. tests/unit/yaml-fast.test.ts
 * compares both on generated documents.
 *
 * @module
 */
import { Document, isScalar } from "yaml";

/** The text is not in the subset this reader takes: read it with the library. */
export const NOT_READ: unique symbol = Symbol("not read");

class Bail extends Error {}

/**
 * Characters the subset never holds: controls (tab, CR), lone surrogates, a BOM, C1 controls, and the Unicode
 * spaces JavaScript's trims remove but YAML keeps in a scalar (a no-break space, U+3000...).
 */
// deno-lint-ignore no-control-regex -- control characters are what this finds
const OUTSIDE = /[\x00-\x09\x0b-\x1f\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ud800-\udfff\ufeff]/;
/** The escapes of a double-quoted scalar that it reads (JSON's, which YAML reads the same way). */
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
/** A line that starts or ends a document, or a directive. */
const MARKER = /^(?:---|\.\.\.|%)/m;
/** What a plain scalar may not start with (block context). */
const INDICATOR = /^(?:[,[\]{}#&*!|>'"%@`]|[-?:](?: |$))/;

const TAGS = new Document(null, { version: "1.2" }).schema.tags.filter((tag) =>
  tag.default === true && tag.tag !== "tag:yaml.org,2002:str" && tag.test !== undefined
);
const OPTIONS = new Document(null, { version: "1.2" }).options;

/**
 * What a plain scalar other than a string starts as in the core schema (null, bool, int and float, whose tests
 * are in TAGS): a sign, a dot or a digit, or one of the null and bool spellings. Anything else is a string,
 * without trying the 8 tests (most of the scalars of a config: names, images, paths).
 */
const MAYBE_TYPED = /^(?:[-+.0-9]|~?$|[Nn]ull$|NULL$|[Tt]rue$|TRUE$|[Ff]alse$|FALSE$)/;

/** A plain scalar's value, as the core schema resolves it. */
function resolvePlain(text: string): unknown {
  if (text.includes("\\")) throw new Bail(); // a backslash outside double quotes: left to the library
  if (!MAYBE_TYPED.test(text)) return text;
  const tag = TAGS.find((t) => t.test?.test(text));
  if (tag === undefined) return text;
  const resolve = tag.resolve as (text: string, onError: () => void, options: unknown) => unknown;
  const value = resolve(text, () => {
    throw new Bail();
  }, OPTIONS);
  return isScalar(value) ? value.value : value;
}

const SPACE = 0x20;
const HASH = 0x23;

interface Line {
  /** Where its row of the text ends: its line break, or the text's end (a block scalar reads the raw rows after it). */
  end: number;
  indent: number;
  /** The line without its indentation (never blank, never a comment). */
  text: string;
}

/**
 * The data of `text`, or {@link NOT_READ} when it is not in the subset
 * (or is not valid YAML): then only the library can say what it holds.
 */
export function readFastYaml(text: string): unknown {
  if (OUTSIDE.test(text) || MARKER.test(text)) return NOT_READ;
  const lines = new Lines(text);
  const first = lines.line;
  if (first === undefined || first.indent !== 0) return NOT_READ;
  try {
    const reader = new Reader(lines);
    const value = isSeqLine(first) ? reader.seq(0) : reader.map(0);
    return lines.line === undefined ? value : NOT_READ;
  } catch (err) {
    if (err instanceof Bail) return NOT_READ;
    throw err;
  }
}

/** Where the row of `text` starting at `start` ends: its line break, or the text's end. */
function rowEnd(text: string, start: number): number {
  const end = text.indexOf("\n", start);
  return end < 0 ? text.length : end;
}

/**
 * The lines of a text, one at a time: made as they are read, not all first (700k line objects for 100k
 * containers, all alive until the end, were a good part of the garbage collector's work).
 */
class Lines {
  /** The line read next (never blank, never a comment); `undefined` at the end. */
  line: Line | undefined;
  /** The line read before it. */
  last: Line | undefined;
  #at = 0;

  constructor(readonly text: string) {
    this.next();
  }

  /** Moves to the next line that is not blank or a comment. */
  next(): void {
    this.last = this.line;
    const text = this.text;
    while (this.#at < text.length) {
      const start = this.#at;
      const end = rowEnd(text, start);
      this.#at = end + 1;
      let from = start;
      while (from < end && text.charCodeAt(from) === SPACE) from++;
      let to = end;
      while (to > from && text.charCodeAt(to - 1) === SPACE) to--;
      if (to > from && text.charCodeAt(from) !== HASH) {
        this.line = { end, indent: from - start, text: text.slice(from, to) };
        return;
      }
    }
    this.line = undefined;
  }

  /** Goes on from the row starting at `start` (after a block scalar, which read the rows before it raw). */
  moveTo(start: number): void {
    this.#at = start;
    this.line = undefined;
    this.next();
  }
}

function isSeqLine(line: Line): boolean {
  return line.text === "-" || line.text.startsWith("- ");
}

/** Where a `key:` line's key ends (the index of its `:`), or -1 when the line is not a mapping entry. */
function keyEnd(text: string): number {
  const q = text[0];
  if (q === '"' || q === "'") {
    const close = closingQuote(text, 0);
    if (close < 0) throw new Bail();
    if (text[close + 1] !== ":") return -1;
    // `"a":b` (no space) is left to the library.
    if (close + 2 < text.length && text[close + 2] !== " ") throw new Bail();
    return close + 1;
  }
  for (let i = text.indexOf(":"); i >= 0; i = text.indexOf(":", i + 1)) {
    if (i + 1 === text.length || text[i + 1] === " ") return i;
  }
  return -1;
}

/** The index of the quote closing the quoted scalar opened at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (q === '"' && text[i] === "\\") {
      i++;
      continue;
    }
    if (text[i] !== q) continue;
    if (q === "'" && text[i + 1] === "'") {
      i++;
      continue;
    }
    return i;
  }
  return -1;
}

function unquote(text: string, start: number, close: number): string {
  const inner = text.slice(start + 1, close);
  if (text[start] === "'") {
    if (inner.includes("\\")) throw new Bail();
    return inner.replaceAll("''", "'");
  }
  return inner.includes("\\") ? unescape(inner) : inner;
}

/** A double-quoted scalar's escapes: JSON's set; `\\u` outside the surrogates; any other is the library's. */
function unescape(inner: string): string {
  return inner.replace(/\\(u[0-9a-fA-F]{4}|.?)/g, (_, e: string) => {
    if (e.length === 5) {
      const code = Number.parseInt(e.slice(1), 16);
      if (code >= 0xd800 && code <= 0xdfff) throw new Bail();
      return String.fromCharCode(code);
    }
    const char = Object.hasOwn(ESCAPES, e) ? ESCAPES[e] : undefined;
    if (char === undefined) throw new Bail();
    return char;
  });
}

/** A key's string, as the library writes it into an object; only plain strings and quoted keys are read. */
function keyOf(raw: string): string {
  let key: string;
  if (raw[0] === '"' || raw[0] === "'") key = unquote(raw, 0, raw.length - 1);
  else {
    if (raw === "" || INDICATOR.test(raw) || raw.includes(" #")) throw new Bail();
    if (resolvePlain(raw) !== raw) throw new Bail();
    key = raw;
  }
  // Merge keys and __proto__ have meanings of their own; a key of 1,024 characters or more is an error.
  if (key === "<<" || key === "__proto__" || raw.length >= 1024) throw new Bail();
  return key;
}

/** Sets a new key, refusing a duplicate (the library reports those, with their places). */
function setNew(map: Record<string, unknown>, key: string, value: unknown): void {
  if (Object.hasOwn(map, key)) throw new Bail();
  map[key] = value;
}

class Reader {
  constructor(readonly lines: Lines) {}

  /** A block mapping whose keys are at column `indent`. */
  map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let line = this.lines.line; line !== undefined; line = this.lines.line) {
      if (line.indent < indent) break;
      if (line.indent > indent || isSeqLine(line)) throw new Bail();
      const end = keyEnd(line.text);
      if (end < 0) throw new Bail();
      const key = keyOf(line.text.slice(0, end).trimEnd());
      const rest = line.text.slice(end + 1).trimStart();
      this.lines.next();
      setNew(out, key, this.value(rest, indent, true));
    }
    return out;
  }

  /** A block sequence whose dashes are at column `indent`. */
  seq(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.lines.line; line !== undefined; line = this.lines.line) {
      if (line.indent < indent || (line.indent === indent && !isSeqLine(line))) break;
      if (line.indent > indent) throw new Bail();
      const item = line.text.slice(1).trimStart();
      const column = indent + line.text.length - item.length;
      if (item.startsWith("- ") || item === "-") throw new Bail();
      if (item !== "" && !item.startsWith("#") && keyEnd(item) >= 0) {
        // `- key: value`: a mapping whose keys are at the column of `key`.
        this.lines.line = { end: line.end, indent: column, text: item };
        out.push(this.map(column));
        continue;
      }
      this.lines.next();
      out.push(this.value(item, indent, false));
    }
    return out;
  }

  /**
   * The value after `key:` or `-` at column `indent`: `rest` on the same
   * line, or a block on the lines below (a mapping's sequence may start at
   * the key's own column).
   */
  value(rest: string, indent: number, ofKey: boolean): unknown {
    if (rest === "|" || rest === "|-") return this.literal(rest === "|", indent);
    const next = this.lines.line;
    if (rest !== "" && !rest.startsWith("#")) {
      // A value on its line: what follows must not be more indented (a continued scalar).
      if (next !== undefined && next.indent > indent) throw new Bail();
      return inline(rest);
    }
    if (rest.startsWith("#") && ofKey === false) throw new Bail();
    if (next === undefined || next.indent < indent) return null;
    if (next.indent === indent) return ofKey && isSeqLine(next) ? this.seq(indent) : null;
    return isSeqLine(next) ? this.seq(next.indent) : this.map(next.indent);
  }

  /**
   * A literal block scalar whose header (`|`, clip, or `|-`, strip) ended the line read last, inside a node
   * at column `indent`: its raw lines, at the indentation of the first. Leading blank lines and lines of spaces
   * beyond that indentation are left to the library.
   */
  literal(clip: boolean, indent: number): string {
    const text = this.lines.text;
    let start = (this.lines.last as Line).end + 1; // the row after the header's
    const first = start <= text.length ? text.slice(start, rowEnd(text, start)) : "";
    const at = first.length - first.trimStart().length;
    if (first.trimStart() === "" || at <= indent) throw new Bail();
    const body: string[] = [];
    let end: string | undefined;
    for (; start <= text.length; start = rowEnd(text, start) + 1) {
      const raw = text.slice(start, rowEnd(text, start));
      const blank = raw.trimStart() === "";
      if (blank && raw.length > at) throw new Bail();
      if (!blank && raw.length - raw.trimStart().length < at) {
        end = raw;
        break;
      }
      body.push(blank ? "" : raw.slice(at));
    }
    // The block ends at a line less indented than it: one that belongs to a node around it, or a comment.
    if (end === undefined && body.at(-1) !== "") throw new Bail(); // no line break at the end of the text
    if (end !== undefined && end.length - end.trimStart().length > indent && !end.trimStart().startsWith("#")) {
      throw new Bail();
    }
    this.lines.moveTo(start);
    while (body.at(-1) === "") body.pop();
    return body.join("\n") + (clip ? "\n" : "");
  }
}

/** A value written on one line: a flow collection, a quoted or a plain scalar, then maybe a comment. */
function inline(text: string): unknown {
  const first = text[0];
  if (first === "[" || first === "{") {
    const flow = new Flow(text);
    const value = flow.node();
    flow.end();
    return value;
  }
  if (first === '"' || first === "'") {
    const close = closingQuote(text, 0);
    if (close < 0) throw new Bail();
    endOfLine(text, close + 1);
    return unquote(text, 0, close);
  }
  const comment = text.indexOf(" #");
  const plain = (comment < 0 ? text : text.slice(0, comment)).trimEnd();
  if (INDICATOR.test(plain) || plain.includes(": ") || plain.endsWith(":")) throw new Bail();
  return resolvePlain(plain);
}

/** Nothing but spaces and a comment may follow at `from`. */
function endOfLine(text: string, from: number): void {
  const rest = text.slice(from);
  if (rest !== "" && !/^ +(#.*)?$/.test(rest)) throw new Bail();
}

/** A one-line flow collection. */
class Flow {
  i = 0;
  constructor(readonly text: string) {}

  end(): void {
    endOfLine(this.text, this.i);
  }

  private spaces(): void {
    while (this.text[this.i] === " ") this.i++;
  }

  node(): unknown {
    this.spaces();
    const c = this.text[this.i];
    if (c === "[") return this.seq();
    if (c === "{") return this.map();
    if (c === '"' || c === "'") {
      const close = closingQuote(this.text, this.i);
      if (close < 0) throw new Bail();
      const value = unquote(this.text, this.i, close);
      this.i = close + 1;
      return value;
    }
    return resolvePlain(this.plain());
  }

  /** A plain scalar in flow context: up to `,`, a bracket, `: ` or ` #`. */
  private plain(): string {
    const start = this.i;
    const text = this.text;
    while (this.i < text.length) {
      const c = text[this.i] as string;
      if (c === "," || c === "]" || c === "}" || c === "[" || c === "{") break;
      if (c === ":") {
        const after = text[this.i + 1];
        if (after === " " || after === undefined || ",[]{}".includes(after)) break;
        throw new Bail(); // `a:b` in flow: a plain scalar with a colon, rare enough to leave to the library
      }
      if (c === "#" && text[this.i - 1] === " ") throw new Bail();
      this.i++;
    }
    const value = text.slice(start, this.i).trimEnd();
    if (value === "" || INDICATOR.test(value)) throw new Bail();
    return value;
  }

  private seq(): unknown[] {
    this.i++;
    const out: unknown[] = [];
    this.spaces();
    if (this.text[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.node());
      this.spaces();
      const c = this.text[this.i];
      this.i++;
      if (c === "]") return out;
      if (c !== ",") throw new Bail();
      this.spaces();
      if (this.text[this.i] === "]") throw new Bail(); // a trailing comma
    }
  }

  private map(): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    this.spaces();
    if (this.text[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.spaces();
      const c = this.text[this.i];
      let raw: string;
      if (c === '"' || c === "'") {
        const close = closingQuote(this.text, this.i);
        if (close < 0) throw new Bail();
        raw = this.text.slice(this.i, close + 1);
        this.i = close + 1;
      } else {
        if (c === "[" || c === "{") throw new Bail();
        raw = this.plain();
      }
      this.spaces();
      if (this.text[this.i] !== ":" || this.text[this.i + 1] !== " ") throw new Bail();
      this.i += 2;
      this.spaces();
      const n = this.text[this.i];
      if (n === "," || n === "}") throw new Bail(); // a key without a value
      setNew(out, keyOf(raw), this.node());
      this.spaces();
      const e = this.text[this.i];
      this.i++;
      if (e === "}") return out;
      if (e !== ",") throw new Bail();
      this.spaces();
      if (this.text[this.i] === "}") throw new Bail();
    }
  }
}
