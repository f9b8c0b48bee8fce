/**
 * Readable differences between two configurations or two file contents,
 * as plain data (printing is the CLI's job).
 *
 * @module
 */
import { isSealed } from "../core/sensitive.ts";

/** One changed value: `+` added, `-` removed, `~` changed. */
export interface DiffLine {
  /** `+` added, `-` removed, `~` changed. */
  op: "+" | "-" | "~";
  /** Dotted path, e.g. `env.ETCD_NAME`, `args[2]`, `host`, `file /etc/etcd.conf`. */
  path: string;
  /**
   * The old value: JSON text for a setting, the line itself for a config file's line (a size summary for a
   * large file); absent on `+` and for a secret.
   */
  before?: string;
  /** The new value, written as `before` is; absent on `-` and for a secret. */
  after?: string;
  /** A secret: `before` and `after` are never set, only that it was added, removed or changed. */
  sensitive?: true;
}

/**
 * Differences between two plain values (objects, arrays, scalars), by path.
 *
 * @example
 * ```ts
 * import { diffValues } from "./diff.ts";
 * const lines = diffValues({ env: { A: "1" } }, { env: { A: "2", B: "3" } });
 * if (lines.length !== 2 || lines[0]?.path !== "env.A") throw new Error(JSON.stringify(lines));
 * ```
 */
export function diffValues(before: unknown, after: unknown, path = ""): DiffLine[] {
  // A missing map or list reads as an empty one, so additions show per entry.
  if (before === undefined && (isObject(after) || Array.isArray(after))) before = Array.isArray(after) ? [] : {};
  if (after === undefined && (isObject(before) || Array.isArray(before))) after = Array.isArray(before) ? [] : {};
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffValues(before[k], after[k], path === "" ? k : `${path}.${k}`));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.every(isScalar) && after.every(isScalar)) {
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => diffValues(before[i], after[i], `${path}[${i}]`)).flat();
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (isSealed(before) || isSealed(after)) return [sensitiveLine(before, after, path)];
  if (before === undefined) return [{ op: "+", path, after: show(after) }];
  if (after === undefined) return [{ op: "-", path, before: show(before) }];
  return [{ op: "~", path, before: show(before), after: show(after) }];
}

/** A change of a sealed value (core/sensitive.ts): which way, never the value. */
function sensitiveLine(before: unknown, after: unknown, path: string): DiffLine {
  return { op: before === undefined || before === null ? "+" : after === undefined ? "-" : "~", path, sensitive: true };
}

/** Line changes between two texts, for config files: removed lines `-`, added lines `+`; a secret file as one line. */
export function diffText(path: string, before: string | null, after: string): DiffLine[] {
  if (isSealed(before) || isSealed(after)) return [sensitiveLine(before, after, `file ${path}`)];
  if (before === null) return [{ op: "+", path: `file ${path}`, after: summary(after) }];
  const a = before.split("\n");
  const b = after.split("\n");
  // Longest common subsequence; config files are small. Past that, a summary.
  if (a.length * b.length > 250_000) {
    return [{ op: "~", path: `file ${path}`, before: summary(before), after: summary(after) }];
  }
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] = a[i] === b[j]
        ? (lcs[i + 1] as number[])[j + 1] as number + 1
        : Math.max((lcs[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (
      i < a.length &&
      (j === b.length || ((lcs[i + 1] as number[])[j] as number) >= ((lcs[i] as number[])[j + 1] as number))
    ) {
      lines.push({ op: "-", path: `file ${path}:${i + 1}`, before: a[i] as string });
      i++;
    } else {
      lines.push({ op: "+", path: `file ${path}:${j + 1}`, after: b[j] as string });
      j++;
    }
  }
  return lines;
}

function summary(text: string): string {
  const lines = text.split("\n").length;
  return `${text.length} bytes, ${lines} line${lines === 1 ? "" : "s"}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== "object";
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? "undefined";
}
