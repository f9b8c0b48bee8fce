/**
 * "Did you mean ...?" suggestions for misspelt field and host names.
 *
 * @module
 */

/**
 * Levenshtein distance (insertions, deletions, substitutions), counting a
 * swap of two neighbouring letters as one edit (optimal string alignment),
 * since that is the most common typo.
 *
 * @example
 * ```ts
 * import { editDistance } from "./suggest.ts";
 * if (editDistance("imgae", "image") !== 1) throw new Error("wrong");
 * if (editDistance("kitten", "sitting") !== 3) throw new Error("wrong");
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (rows[i - 1]?.[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (rows[i - 1]?.[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] as number) + 1);
      }
      row[j] = best;
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] as number;
}

const LONGEST_WORTH_SUGGESTING = 64;

function folded(word: string): string {
  return word.toLowerCase().replace(/[-_ ]/g, "");
}

/**
 * The candidate closest to `word`, when it is close enough to be a likely
 * typo: same letters ignoring case, `-` and `_` (`network_mode` ->
 * `networkMode`), or few edits away: one for words of up to three
 * letters, else two or a third of the letters, whichever is more.
 *
 * @returns The suggestion, or `undefined` when nothing is close.
 *
 * @example
 * ```ts
 * import { suggest } from "./suggest.ts";
 * if (suggest("imgae", ["name", "image"]) !== "image") throw new Error("wrong");
 * ```
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length === 0 || word.length > LONGEST_WORTH_SUGGESTING) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (folded(candidate) === folded(word)) return candidate;
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}
