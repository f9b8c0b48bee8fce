/**
 * Prints the reliability suite's totals, one line per runtime and category:
 * `node --import tsx tests/reliability/summary.ts` after the test stages.
 * Exits 1 when any lost, duplicated or orphaned container was found.
 */
import { type Category, CATEGORY_LABELS, countsFile, readCounts, totals } from "./tally.ts";

const all = readCounts();
if (Object.keys(all).length === 0) {
  console.log(`reliability: no counts in ${countsFile()} (did tests/reliability run?)`);
}
let bad = 0;
for (const [runtime, byFile] of Object.entries(all)) {
  const sum = totals(byFile);
  for (const k of Object.keys(CATEGORY_LABELS) as Category[]) {
    console.log(`reliability [${runtime}] ${CATEGORY_LABELS[k]}: ${sum[k]}`);
  }
  bad += sum.lost + sum.duplicated + sum.orphaned;
}
process.exitCode = bad === 0 ? 0 : 1;
