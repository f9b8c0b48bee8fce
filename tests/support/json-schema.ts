/**
 * A JSON Schema checker for exactly the subset berth generates
 * (core/shape.ts `JsonSchema`); an unknown keyword is an error, so the
 * generator cannot use one this checker ignores.
 */
import type { JsonSchema } from "../../core/shape.ts";

const ANNOTATIONS = new Set(["$schema", "title", "description"]);
const KNOWN = new Set([
  "type",
  "enum",
  "pattern",
  "minLength",
  "minimum",
  "maximum",
  "items",
  "properties",
  "required",
  "additionalProperties",
  "patternProperties",
  "propertyNames",
  "minProperties",
  "maxProperties",
  "not",
  "anyOf",
]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Where `value` breaks `schema`: a list of `path: what`, empty when it conforms. */
export function schemaErrors(schema: JsonSchema, value: unknown, path = "$"): string[] {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key) && !ANNOTATIONS.has(key)) throw new Error(`${path}: unsupported keyword ${key}`);
  }
  const errors: string[] = [];
  const fail = (message: string) => errors.push(`${path}: ${message}`);
  if (schema.type !== undefined) {
    const types: readonly string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    // An integer is a number too.
    const type = typeOf(value);
    if (!types.includes(type) && !(type === "integer" && types.includes("number"))) {
      return [`${path}: expected ${types.join(" or ")}, got ${typeOf(value)}`];
    }
  }
  if (schema.not !== undefined && schemaErrors(schema.not, value, path).length === 0) fail("not allowed");
  if (schema.anyOf !== undefined && !schema.anyOf.some((s) => schemaErrors(s, value, path).length === 0)) {
    fail(`matches none of ${schema.anyOf.length} alternatives`);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) fail(`not one of ${schema.enum.join(", ")}`);
  if (typeof value === "string") {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) {
      fail(`${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
    if (schema.minLength !== undefined && [...value].length < schema.minLength) fail("too short");
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`above ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => errors.push(...schemaErrors(schema.items as JsonSchema, item, `${path}[${i}]`)));
  }
  if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    for (const key of schema.required ?? []) if (!Object.hasOwn(object, key)) fail(`missing ${key}`);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) fail("too few fields");
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) fail("too many fields");
    for (const key of keys) {
      const at = `${path}.${key}`;
      if (schema.propertyNames !== undefined) errors.push(...schemaErrors(schema.propertyNames, key, `${at} (name)`));
      const property = schema.properties !== undefined && Object.hasOwn(schema.properties, key)
        ? schema.properties[key]
        : undefined;
      const patterned = Object.entries(schema.patternProperties ?? {}).find(([p]) => new RegExp(p, "u").test(key));
      if (property !== undefined) errors.push(...schemaErrors(property, object[key], at));
      else if (patterned !== undefined) errors.push(...schemaErrors(patterned[1], object[key], at));
      else if (schema.additionalProperties === false) errors.push(`${at}: unknown field`);
      else if (typeof schema.additionalProperties === "object") {
        errors.push(...schemaErrors(schema.additionalProperties, object[key], at));
      }
    }
  }
  return errors;
}

/**
 * `schema` with every local `{ "$ref": "#/$defs/NAME" }` replaced by that definition and `$defs` dropped,
 * for {@link schemaErrors} (which knows no references). The schema must not be recursive.
 */
export function inlineRefs(schema: unknown, root: unknown = schema): JsonSchema {
  const defs = (root as { $defs?: Record<string, unknown> }).$defs ?? {};
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node !== "object" || node === null) return node;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === "string") {
      const name = /^#\/\$defs\/(.+)$/.exec(ref)?.[1];
      if (name === undefined || !Object.hasOwn(defs, name)) throw new Error(`unresolved $ref ${ref}`);
      return walk(defs[name]);
    }
    return Object.fromEntries(Object.entries(node).filter(([k]) => k !== "$defs").map(([k, v]) => [k, walk(v)]));
  };
  return walk(schema) as JsonSchema;
}
