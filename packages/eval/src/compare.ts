/**
 * A sweep's runs side by side, each beside its controls.
 * @module
 */
import type { DatasetName } from './datasets.js';
import { publishedResults, type PublishedResult } from './paper.js';
import type { RunReport } from './report.js';
import { findNoInsertionControl, findRandomControl, type AxisValue, type CellRole, type SweepPlan } from './sweep.js';

/** One run of a sweep, summed up. */
export interface SweepRow {
  readonly folder: string;
  readonly role: CellRole;
  readonly axes: Readonly<Record<string, AxisValue>>;
  /** `complete`: every sample has a line; `partial`: some are missing; `not-run`: no run file yet. */
  readonly status: 'complete' | 'partial' | 'not-run';
  readonly total: number;
  readonly expected: number | null;
  /** How many samples have no line (null when unknown). */
  readonly missing: number | null;
  readonly failed: number;
  /** Accuracy (multiple choice) or ROUGE-L (LLaVA-W), a fraction; null when nothing is finished. */
  readonly score: number | null;
  /** Correct answers (multiple choice; null for LLaVA-W). */
  readonly correct: number | null;
  /** The score by domain (multiple choice) or category (LLaVA-W). */
  readonly groups: Readonly<Record<string, { readonly total: number; readonly score: number }>>;
  readonly insertionsPerSample: number | null;
  readonly insertedTokensPerSample: number | null;
  readonly generatedTokensPerSample: number | null;
  /** Mean `timings` fields per sample (milliseconds). */
  readonly timings: Readonly<Record<string, number>>;
  /** The no-insertion control of this run and the score difference (this minus the control's). */
  readonly vsNoInsertion: { readonly folder: string; readonly delta: number | null } | null;
  /** The random-selector control at the same k and the score difference. */
  readonly vsRandom: { readonly folder: string; readonly delta: number | null } | null;
}

/** A sweep compared: its rows in plan order and, when asked, the published numbers. */
export interface SweepComparison {
  readonly name: string;
  readonly dataset: DatasetName;
  readonly metric: 'accuracy' | 'rougeL';
  /** What `groups` are: domains or categories. */
  readonly groupBy: 'domain' | 'category';
  readonly axes: readonly string[];
  readonly rows: readonly SweepRow[];
  /** Published numbers on the dataset (`null` unless asked). */
  readonly paper: readonly PublishedResult[] | null;
}

function scoreOf(report: RunReport): number | null {
  return report.kind === 'rouge' ? report.rougeL : report.accuracy;
}

/**
 * Put a sweep's run reports side by side, in plan order: each row's score, its groups' scores,
 * the insertions' cost, and the difference to its no-insertion control and to the random
 * selector at the same k (whichever cell of the plan is that control, added or in the grid).
 * `reports` maps folders to their reports (null: not run yet).
 */
export function compareSweep(plan: SweepPlan, reports: ReadonlyMap<string, RunReport | null>, options: { readonly paper?: boolean } = {}): SweepComparison {
  const scores = new Map(plan.cells.map((c) => [c.folder, reports.get(c.folder) ? scoreOf(reports.get(c.folder)!) : null] as const));
  const delta = (mine: number | null, folder: string): number | null => {
    const theirs = scores.get(folder) ?? null;
    return mine === null || theirs === null ? null : mine - theirs;
  };
  const rows = plan.cells.map((cell): SweepRow => {
    const report = reports.get(cell.folder) ?? null;
    const score = report ? scoreOf(report) : null;
    const noInsertion = findNoInsertionControl(cell, plan.cells);
    const random = findRandomControl(cell, plan.cells);
    const groups: Record<string, { total: number; score: number }> = {};
    if (report?.kind === 'multiple-choice') for (const [domain, t] of Object.entries(report.byDomain)) groups[domain] = { total: t.total, score: t.accuracy };
    if (report?.kind === 'rouge') for (const [category, t] of Object.entries(report.byCategory)) groups[category] = { total: t.total, score: t.rougeL };
    return {
      folder: cell.folder,
      role: cell.role,
      axes: cell.axes,
      status: !report ? 'not-run' : report.missing !== null && report.missing.length === 0 ? 'complete' : 'partial',
      total: report?.total ?? 0,
      expected: report?.expected ?? null,
      missing: report?.missing ? report.missing.length : null,
      failed: report?.failed.length ?? 0,
      score,
      correct: report?.kind === 'multiple-choice' ? report.correct : null,
      groups,
      insertionsPerSample: report?.insertions.perSample ?? null,
      insertedTokensPerSample: report?.usage.perSample?.insertedTokens ?? null,
      generatedTokensPerSample: report?.usage.perSample?.generatedTokens ?? null,
      timings: report?.timings ?? {},
      vsNoInsertion: noInsertion ? { folder: noInsertion.folder, delta: delta(score, noInsertion.folder) } : null,
      vsRandom: random ? { folder: random.folder, delta: delta(score, random.folder) } : null,
    };
  });
  return {
    name: plan.name,
    dataset: plan.dataset,
    metric: plan.dataset === 'llava-w' ? 'rougeL' : 'accuracy',
    groupBy: plan.dataset === 'llava-w' ? 'category' : 'domain',
    axes: plan.axes,
    rows,
    paper: options.paper ? publishedResults(plan.dataset) : null,
  };
}
