/**
 * Durations as written in config files: Go-style `1m30s`, `500ms`, `2h`.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parses a duration into milliseconds.
 *
 * @param text A duration such as `30s`, `1m`, `1m30s`, `250ms`.
 * @returns The duration in milliseconds.
 * @throws {SyntaxError} When the text is not a duration.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * if (parseDuration("1m30s") !== 90_000) throw new Error("wrong");
 * ```
 */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (m === null) break;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = PART.lastIndex;
  }
  if (matched === 0 || matched !== text.length) {
    throw new SyntaxError(`Cannot parse duration "${text}": use a number with a unit, such as "30s", "1m" or "1m30s"`);
  }
  return total;
}
