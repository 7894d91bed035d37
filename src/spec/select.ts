/** Picking trials of a plan by id or label (for `divd trial --id` and `divd run --only`). */
import { UsageError } from '../errors.ts';
import { closest } from './suggest.ts';
import type { Plan, Trial } from './types.ts';

/** The trials named by `selectors` (ids, id prefixes of 4+ characters, or exact labels), in plan order. */
export function selectTrials(plan: Plan, selectors: string[]): Trial[] {
  const chosen = new Set<Trial>();
  for (const selector of selectors) {
    const matches = plan.trials.filter(
      (t) => t.label === selector || t.id === selector || (selector.length >= 4 && t.id.startsWith(selector)),
    );
    if (matches.length === 0) {
      const guess = closest(selector, plan.trials.map((t) => t.label));
      throw new UsageError(
        `no trial "${selector}" in ${plan.file}${guess ? `; did you mean "${guess}"?` : ''} (divd plan ${plan.file} lists them)`,
      );
    }
    if (matches.length > 1 && !matches.some((t) => t.label === selector)) {
      throw new UsageError(`"${selector}" matches ${matches.length} trials (${matches.map((t) => t.id).join(', ')}); give more of the id`);
    }
    for (const t of matches.length > 1 ? matches.filter((m) => m.label === selector) : matches) chosen.add(t);
  }
  return plan.trials.filter((t) => chosen.has(t));
}
