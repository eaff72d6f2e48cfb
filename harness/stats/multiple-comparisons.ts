/**
 * Multiple-comparison correction for reports that compare many pairs (variants x boards x
 * metrics): at alpha 0.05, twenty independent true-null comparisons raise one false alarm on
 * average, which is exactly the nightly job that cries wolf.
 *
 * - Holm (Scand. J. Statist. 6, 1979): step-down Bonferroni, controls the family-wise error
 *   rate (the chance of ANY false alarm) under any dependence. Adjusted p, with p sorted
 *   ascending: p~(i) = max_{j <= i} min(1, (m - j + 1) p(j)). Use it for gates.
 * - Benjamini & Hochberg (J. R. Statist. Soc. B 57, 1995): step-up, controls the false discovery
 *   rate (the expected share of false alarms among the flagged) for independent or positively
 *   dependent tests. p~(i) = min_{j >= i} min(1, m / j p(j)). Use it for exploratory tables.
 * Both adjusted p-values are R's `p.adjust(p, "holm")` and `p.adjust(p, "BH")`; a hypothesis is
 * rejected when its adjusted p is <= alpha.
 */
export type CorrectionMethod = 'holm' | 'benjamini-hochberg';

export interface AdjustedPValues {
  method: CorrectionMethod;
  alpha: number;
  /** Adjusted p-values in the input order; NaN where the input was not a valid p-value. */
  adjusted: number[];
  /** adjusted <= alpha, in the input order. */
  rejected: boolean[];
  warnings: string[];
}

interface Family {
  /** Input positions of the valid p-values, sorted by p ascending. */
  order: number[];
  warnings: string[];
}

function family(pValues: readonly number[]): Family {
  const order: number[] = [];
  let invalid = 0;
  pValues.forEach((p, i) => {
    if (typeof p === 'number' && p >= 0 && p <= 1) order.push(i);
    else invalid++;
  });
  order.sort((i, j) => pValues[i] - pValues[j] || i - j);
  const warnings =
    invalid > 0 ? [`${invalid} of ${pValues.length} p-values were missing or outside [0, 1] and were left out of the correction`] : [];
  return { order, warnings };
}

function finish(method: CorrectionMethod, alpha: number, n: number, order: number[], sortedAdjusted: number[], warnings: string[]): AdjustedPValues {
  const adjusted = new Array<number>(n).fill(Number.NaN);
  order.forEach((idx, rank) => (adjusted[idx] = sortedAdjusted[rank]));
  return { method, alpha, adjusted, rejected: adjusted.map((p) => p <= alpha), warnings };
}

export function holm(pValues: readonly number[], alpha = 0.05): AdjustedPValues {
  const { order, warnings } = family(pValues);
  const m = order.length;
  const out: number[] = [];
  let running = 0;
  order.forEach((idx, j) => {
    running = Math.max(running, Math.min(1, (m - j) * pValues[idx]));
    out.push(running);
  });
  return finish('holm', alpha, pValues.length, order, out, warnings);
}

export function benjaminiHochberg(pValues: readonly number[], alpha = 0.05): AdjustedPValues {
  const { order, warnings } = family(pValues);
  const m = order.length;
  const out = new Array<number>(m);
  let running = 1;
  for (let j = m - 1; j >= 0; j--) {
    running = Math.min(running, Math.min(1, (m / (j + 1)) * pValues[order[j]]));
    out[j] = running;
  }
  return finish('benjamini-hochberg', alpha, pValues.length, order, out, warnings);
}

export function adjustPValues(pValues: readonly number[], method: CorrectionMethod, alpha = 0.05): AdjustedPValues {
  return method === 'holm' ? holm(pValues, alpha) : benjaminiHochberg(pValues, alpha);
}
