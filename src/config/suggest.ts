/** Words longer than this are matched by prefix only: a typo hint is not worth comparing them letter by letter. */
const LONGEST_COMPARED = 64;

/**
 * The known word nearest to `word`, when it is near enough to be a likely typo: at most
 * one edit for short words, about one edit in three letters for longer ones. Case is
 * ignored and a swap of two neighbouring letters counts as one edit. Ties go to the
 * earlier candidate. Failing that, a known word that starts with `word` or that `word`
 * starts with (four letters at least: `health_check` for `health_check_endpoint`).
 *
 * Its cost stays small however long or many the words (a file may name thousands of
 * pools): words of different lengths are not compared further than their lengths allow,
 * and words over 64 characters only by prefix.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const wanted = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const known = candidate.toLowerCase();
    const allowed = Math.max(1, Math.floor(Math.max(wanted.length, candidate.length) / 3));
    // the distance is at least the difference in length
    if (Math.abs(wanted.length - known.length) > allowed || Math.max(wanted.length, known.length) > LONGEST_COMPARED) continue;
    const distance = editDistance(wanted, known, Math.min(allowed, bestDistance - 1));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best ?? candidates.find((c) => isPrefix(wanted, c.toLowerCase()));
}

function isPrefix(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short);
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and adjacent
 * swaps. With a `limit`, it stops as soon as the distance must be above it and gives
 * `limit + 1`.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  // three rows of the table: d[i][j] = distance between a[0..i) and b[0..j)
  let before: number[] = []; // row i - 2
  let previous: number[] = Array.from({ length: b.length + 1 }, (_, j) => j); // row i - 1
  let previousLeast = 0;
  for (let i = 1; i <= a.length; i += 1) {
    const row: number[] = [i];
    let least = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] ?? Infinity) + 1, (row[j - 1] ?? Infinity) + 1, (previous[j - 1] ?? Infinity) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? Infinity) + 1);
      row.push(d);
      least = Math.min(least, d);
    }
    // every later cell adds to one in this row, or in the one before it (a swap)
    if (least > limit && previousLeast > limit) return limit + 1;
    [before, previous, previousLeast] = [previous, row, least];
  }
  return previous[b.length] ?? Infinity;
}
