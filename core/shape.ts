/**
 * Typed checking of untyped documents: small composable checks that report
 * every problem with its path instead of stopping at the first.
 *
 * @module
 */
import type { Problem } from "./problem.ts";
import { suggest } from "./suggest.ts";

/**
 * The subset of JSON Schema (draft 2020-12) berth generates for its config:
 * enough for editors, and small enough to check with `tests/support/json-schema.ts`.
 */
export interface JsonSchema {
  description?: string;
  type?: "string" | "integer" | "number" | "boolean" | "object" | "array" | Array<"object" | "null">;
  enum?: readonly string[];
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  /** Keys matching a pattern (checked before additionalProperties), such as the config's `^x-` fragments. */
  patternProperties?: Record<string, JsonSchema>;
  propertyNames?: JsonSchema;
  minProperties?: number;
  maxProperties?: number;
  /** `not: {}` refuses any value (a field that is known but not allowed here). */
  not?: JsonSchema;
  anyOf?: JsonSchema[];
}

/**
 * Checks one value found at `path`, adding a problem for each thing wrong.
 * `schema` is what the check accepts, as JSON Schema (looser where a rule is
 * code, such as image references); the config's schema is built from these.
 */
export type Check = ((value: unknown, path: string, problems: Problem[]) => void) & { readonly schema?: JsonSchema };

/**
 * Whether a field's value is a secret: `always` (never written to a file
 * berth writes, never printed), `when-referenced` (a secret when it came from
 * a `${env:}`/`${file:}` reference; the secrets work acts on this), or `never`.
 */
export type Sensitivity = "never" | "always" | "when-referenced";

/** A field of a mapping: its check and, when it is required, how to fix its absence. */
export interface Field {
  check: Check;
  /** Set for required fields: the fix shown when it is missing, e.g. `set the image to run`. */
  required?: string;
  /** What the field is, for the JSON Schema. */
  description?: string;
  /** `never` when not set. */
  sensitive?: Sensitivity;
}

/** The fields a mapping may have. */
export type Fields = Readonly<Record<string, Field>>;

/** A string check's verdict: a problem message, or `undefined` when fine. */
export type Rule = (text: string) => string | undefined;

/** Attaches the JSON Schema of what `check` accepts; `schema` may be a function, computed when first asked for. */
export function withSchema(
  check: (value: unknown, path: string, problems: Problem[]) => void,
  schema: JsonSchema | (() => JsonSchema),
): Check {
  if (typeof schema !== "function") return Object.assign(check, { schema });
  let computed: JsonSchema | undefined;
  return Object.defineProperty(check, "schema", { get: () => (computed ??= schema()), enumerable: true });
}

/**
 * The schema of a check.
 *
 * @throws {Error} When the check declares none: every check in the config must, so the schema is complete.
 */
export function schemaOf(check: Check, path: string): JsonSchema {
  if (check.schema === undefined) throw new Error(`the check of ${path || "(document)"} declares no JSON Schema`);
  return check.schema;
}

/** The schema of a mapping with these fields (no others). */
export function fieldsSchema(fields: Fields, path = ""): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, field] of Object.entries(fields)) {
    const schema = schemaOf(field.check, at(path, key));
    properties[key] = field.description === undefined ? schema : { description: field.description, ...schema };
  }
  const required = Object.keys(fields).filter((key) => fields[key]?.required !== undefined);
  return { type: "object", properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

/** True for plain mappings as parsed from YAML/JSON (not lists, not null, not class instances). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The value of an own property, never an inherited one. */
export function own(mapping: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(mapping, key) ? mapping[key] : undefined;
}

/** How a value is named in messages: `a string`, `a list`, `null`, ... */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (isMapping(value)) return "a mapping";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "function":
      return "a function";
    default:
      return `a value of type ${typeof value}`;
  }
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const LONGEST_SHOWN = 60;

/** Shows a user-supplied text in a message, quoted and shortened. */
export function quote(text: string): string {
  return JSON.stringify(text.length > LONGEST_SHOWN ? `${text.slice(0, LONGEST_SHOWN)}...` : text);
}

/**
 * The path of a field or list item below `path`: `a.b`, `a["/etc/x"]`, `a[0]`.
 *
 * @example
 * ```ts
 * import { at } from "./shape.ts";
 * if (at(at("desiredState", "etcd"), "configFiles") !== "desiredState.etcd.configFiles") throw new Error("wrong");
 * if (at("ports", 0) !== "ports[0]") throw new Error("wrong");
 * ```
 */
export function at(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (PLAIN_KEY.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Adds a problem; an empty path means the whole document. */
export function report(problems: Problem[], path: string, message: string): void {
  problems.push({ path: path === "" ? "(document)" : path, message });
}

const SCALAR_HINT = /; quote it \("[^"]*"\)/g;

function scalarHint(value: unknown): string {
  return typeof value === "number" || typeof value === "boolean" ? `; quote it (${JSON.stringify(String(value))})` : "";
}

/**
 * Checks a mapping's fields: reports a value that is not a mapping, unknown
 * fields (with a "did you mean" suggestion), missing required fields, and
 * runs each present field's check.
 *
 * @returns True when the value is a mapping (its fields were checked).
 */
export function checkFields(
  value: unknown,
  path: string,
  problems: Problem[],
  fields: Fields,
): value is Record<string, unknown> {
  if (!isMapping(value)) {
    report(problems, path, `expected a mapping, got ${describe(value)}`);
    return false;
  }
  const table = tableOf(fields);
  // The value's own keys, not every declared field, are what is looked at (a container has ~60 fields and sets a
  // few); the present and the required fields are then checked in declared order, as a walk of them all would.
  let present: number[] | undefined;
  for (const key of Object.keys(value)) {
    const index = table.index.get(key);
    if (index === undefined) {
      const guess = suggest(key, table.keys);
      const fix = guess === undefined
        ? `remove it (known fields: ${table.keys.join(", ")})`
        : `did you mean \`${guess}\`?`;
      report(problems, at(path, key), `unknown field ${quote(key)}; ${fix}`);
    } else if (value[key] !== undefined) (present ??= []).push(index);
  }
  present?.sort((a, b) => a - b);
  const required = table.required;
  let p = 0;
  let r = 0;
  for (;;) {
    const next = Math.min(present?.[p] ?? Infinity, required[r] ?? Infinity);
    if (next === Infinity) break;
    const key = table.keys[next] as string;
    const field = table.fields[next] as Field;
    if (next === present?.[p]) {
      p++;
      if (next === required[r]) r++;
      if ((field.sensitive ?? "never") === "never") field.check(value[key], at(path, key), problems);
      else checkSecret(field.check, value[key], at(path, key), problems);
    } else {
      r++;
      report(problems, at(path, key), `missing ${key}; ${field.required}`);
    }
  }
  return true;
}

/** A field table as checkFields reads it: made once per table. */
interface FieldTable {
  keys: string[];
  fields: Field[];
  index: Map<string, number>;
  /** The indexes of the required fields, ascending. */
  required: number[];
}

const TABLES = new WeakMap<Fields, FieldTable>();

function tableOf(fields: Fields): FieldTable {
  let table = TABLES.get(fields);
  if (table === undefined) {
    const keys = Object.keys(fields);
    const all = keys.map((key) => fields[key] as Field);
    table = {
      keys,
      fields: all,
      index: new Map(keys.map((key, i) => [key, i])),
      required: keys.flatMap((_, i) => (all[i]?.required === undefined ? [] : [i])),
    };
    TABLES.set(fields, table);
  }
  return table;
}

/** Runs `check` on a value that may be a secret: its problems never repeat the value (no "quote it (...)" echo). */
function checkSecret(check: Check, value: unknown, path: string, problems: Problem[]): void {
  const found: Problem[] = [];
  check(value, path, found);
  for (const p of found) problems.push({ ...p, message: p.message.replace(SCALAR_HINT, "; quote it") });
}

/** A check for a mapping with the given fields. */
export function mapping(fields: Fields): Check {
  return withSchema((value, path, problems) => {
    checkFields(value, path, problems, fields);
  }, () => fieldsSchema(fields));
}

/**
 * A check for a string, optionally with a rule about its content; `schema`
 * states what of the rule JSON Schema can say (a pattern, an enum).
 */
export function string(rule?: Rule, schema: Omit<JsonSchema, "type"> = {}): Check {
  return withSchema((value, path, problems) => {
    if (typeof value !== "string") {
      report(problems, path, `expected a string, got ${describe(value)}${scalarHint(value)}`);
      return;
    }
    const message = rule?.(value);
    if (message !== undefined) report(problems, path, message);
  }, { type: "string", ...schema });
}

/** A check for `true` or `false`. */
export const boolean: Check = withSchema((value, path, problems) => {
  if (typeof value !== "boolean") report(problems, path, `expected true or false, got ${describe(value)}`);
}, { type: "boolean" });

/** A check for a whole number from `min` to `max`, named `what` in messages (e.g. "a port number"). */
export function integer(min: number, max: number, what: string): Check {
  return withSchema((value, path, problems) => {
    if (typeof value !== "number") {
      const hint = typeof value === "string" && /^\d+$/.test(value) ? `; write ${value} without quotes` : "";
      report(problems, path, `expected ${what} from ${min} to ${max}, got ${describe(value)}${hint}`);
    } else if (!Number.isInteger(value) || value < min || value > max) {
      report(problems, path, `expected ${what} from ${min} to ${max}, got ${value}`);
    }
  }, { type: "integer", minimum: min, maximum: max });
}

/** A check for a list whose items pass `item`; `what` names the items (`strings`, `ports`). */
export function listOf(item: Check, what: string): Check {
  return withSchema((value, path, problems) => {
    if (!Array.isArray(value)) {
      report(problems, path, `expected a list of ${what}, got ${describe(value)}`);
      return;
    }
    // An index loop, not forEach: holes in sparse arrays are reported, not skipped.
    for (let index = 0; index < value.length; index++) item(value[index], at(path, index), problems);
  }, () => ({ type: "array", items: schemaOf(item, "[]") }));
}

/**
 * A check for a mapping from keys passing `key` to values passing `item`;
 * `what` names the entries; `keySchema` states what of `key` JSON Schema can say.
 */
export function mapOf(key: Rule, item: Check, what: string, keySchema?: Omit<JsonSchema, "type">): Check {
  return withSchema((value, path, problems) => {
    if (!isMapping(value)) {
      report(problems, path, `expected a mapping of ${what}, got ${describe(value)}`);
      return;
    }
    for (const name of Object.keys(value)) {
      const message = key(name);
      if (message !== undefined) report(problems, at(path, name), message);
      item(value[name], at(path, name), problems);
    }
  }, () => ({
    type: "object",
    ...(keySchema === undefined ? {} : { propertyNames: { type: "string", ...keySchema } }),
    additionalProperties: schemaOf(item, "{}"),
  }));
}
