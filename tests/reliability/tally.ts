/**
 * Counts of the reliability suite, per category, kept across its test files
 * in `${BERTH_TEST_DIR:-/tmp/berth-test}/reliability-counts.json` (one entry
 * per runtime and file, so a rerun replaces its own numbers).
 * `summary.ts` prints the totals.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { detectRuntime } from "../support/js-runtime.ts";

/** What the suite counts. */
export type Category = "faults" | "badInputs" | "secretsChecks" | "lost" | "duplicated" | "orphaned";

export const CATEGORY_LABELS: Record<Category, string> = {
  faults: "faults that landed",
  badInputs: "bad inputs tried",
  secretsChecks: "secrets checks (distinct outputs x secrets)",
  lost: "lost containers found",
  duplicated: "duplicated containers found",
  orphaned: "orphaned containers found",
};

type Counts = Record<Category, number>;
type CountsFile = Record<string, Record<string, Counts>>;

const zero = (): Counts => ({ faults: 0, badInputs: 0, secretsChecks: 0, lost: 0, duplicated: 0, orphaned: 0 });
const mine = zero();

/** Path of the counts file. */
export function countsFile(): string {
  return `${process.env["BERTH_TEST_DIR"] ?? "/tmp/berth-test"}/reliability-counts.json`;
}

/** Adds `n` to a category of this test file. */
export function tally(category: Category, n = 1): void {
  mine[category] += n;
}

/** Reads every runtime's counts (empty when none yet). */
export function readCounts(): CountsFile {
  try {
    return JSON.parse(readFileSync(countsFile(), "utf8")) as CountsFile;
  } catch {
    return {};
  }
}

/** Sums the files of one runtime. */
export function totals(byFile: Record<string, Counts>): Counts {
  const sum = zero();
  for (const counts of Object.values(byFile)) for (const k of Object.keys(sum) as Category[]) sum[k] += counts[k] ?? 0;
  return sum;
}

/** `faults that landed 3, bad inputs tried 120, ...`. */
export function formatCounts(counts: Counts): string {
  return (Object.keys(CATEGORY_LABELS) as Category[]).map((k) => `${CATEGORY_LABELS[k]} ${counts[k]}`).join(", ");
}

/** Saves this file's counts under its runtime and prints them (call from afterAll). */
export function saveTally(testFile: string): void {
  const runtime = detectRuntime();
  const all = readCounts();
  all[runtime] = { ...all[runtime], [basename(testFile)]: { ...mine } };
  writeFileSync(countsFile(), `${JSON.stringify(all, null, 2)}\n`);
  console.log(`reliability [${runtime}] ${basename(testFile)}: ${formatCounts(mine)}`);
  // Bun runs every file in one process: the next file starts from zero.
  Object.assign(mine, zero());
}
