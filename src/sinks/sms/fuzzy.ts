/**
 * Edit distance for typo-tolerant keyword matching (reply intents). Optimal string alignment
 * (restricted Damerau-Levenshtein): insert, delete, substitute, swap two adjacent letters, each
 * costing 1, because those are the slips people make on a phone ("stpo", "stopp", "cancle").
 *
 * With `keyboard: true` a substitution costs 1 only between neighbouring QWERTY keys and 2
 * otherwise. Short keywords need that: "stop" is one plain substitution away from "shop" and
 * "step" (real words, not typos) but "stoo" and "dtop" are fat-finger slips.
 */

const ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

const NEIGHBOURS: Map<string, Set<string>> = (() => {
  const m = new Map<string, Set<string>>();
  const at = (r: number, i: number): string | undefined => ROWS[r]?.[i];
  ROWS.forEach((row, r) => {
    for (let i = 0; i < row.length; i++) {
      const ch = row.charAt(i);
      // Staggered rows: the row above is shifted left, the row below right.
      const around = [at(r, i - 1), at(r, i + 1)];
      if (r === 0) around.push(at(1, i - 1), at(1, i));
      if (r === 1) around.push(at(0, i), at(0, i + 1), at(2, i - 1), at(2, i));
      if (r === 2) around.push(at(1, i), at(1, i + 1));
      m.set(ch, new Set(around.filter((c): c is string => c !== undefined)));
    }
  });
  return m;
})();

export function areNeighbourKeys(a: string, b: string): boolean {
  return NEIGHBOURS.get(a)?.has(b) ?? false;
}

/** Optimal string alignment distance between a and b; stops early once it exceeds max. */
export function editDistance(a: string, b: string, opts: { keyboard?: boolean; max?: number } = {}): number {
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const subCost = (x: string, y: string): number => (x === y ? 0 : !opts.keyboard || areNeighbourKeys(x, y) ? 1 : 2);
  // Three rolling rows: the transposition step looks two rows back.
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const ai = a.charAt(i - 1);
      const bj = b.charAt(j - 1);
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + subCost(ai, bj));
      if (i > 1 && j > 1 && ai === b.charAt(j - 2) && a.charAt(i - 2) === bj) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** "stoooop" → "stop", "yesss" → "yes": drops repeated letters, for comparing shouted or stuttered words. */
export function squeeze(s: string): string {
  return s.replace(/(.)\1+/g, '$1');
}
