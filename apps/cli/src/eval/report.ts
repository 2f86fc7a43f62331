/**
 * `icot eval report`: the report of an `icot eval run` output folder (its shards merged, the
 * missing samples listed) or of a sweep folder (its runs side by side).
 * @module
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JSON_SCHEMA_VERSION, OptionError } from '@icot/core';
import {
  publishedResults,
  renderRunHtml,
  renderRunMarkdown,
  renderSweepHtml,
  renderSweepMarkdown,
  runHeadline,
  scoreTable,
  sweepTable,
  type RunReport,
  type SweepComparison,
} from '@icot/eval';
import { isRunFolder, reportRunFolder } from '@icot/eval/node';
import { checkOutputFile } from '../paths.js';
import type { CommandIo } from '../run.js';
import { compareSweepFolder, SWEEP_FILE } from './sweep-folder.js';

/** Help of `icot eval report`. */
export const REPORT_HELP = `Usage: icot eval report <out> [--json | --markdown] [--html <file>] [--data <dir>] [--paper]
       icot eval report --sweep <dir> [--json | --markdown] [--html <file>] [--paper]

The report of an \`icot eval run\` output folder: its shards merged (results.jsonl, or
results-<i>-of-<n>.jsonl with their run-<i>-of-<n>.json files, which must share one configuration
and one shard count), the score from each sample's line (accuracy by domain and topic for M3CoT and
ScienceQA, ROUGE-L by category for LLaVA-W), the samples with no line, failed samples, and what the
insertions cost. With --sweep (or a folder holding ${SWEEP_FILE}): every run of an \`icot eval sweep\`
side by side, each beside its controls (no insertion, random selector at the same k).

Options
  --json            print {"schemaVersion", "dataset", "total", "correct", "accuracy", "missing",
                    "byDomain", "byTopic", ...} (multiple choice) or {"schemaVersion", "dataset",
                    "total", "rougeL", "byCategory", "missing", ...} (LLaVA-W); fractions, not
                    percentages. A sweep: {"schemaVersion", "name", "dataset", "metric", "rows", ...}
  --markdown        print Markdown tables
  --html <file>     write a self-contained HTML page (a sweep's with plots: accuracy vs k, per
                    domain or category, inserted tokens vs accuracy)
  --data <dir>      the dataset folder the run read, for the missing samples (default: the folder
                    the run file names; a sweep: the sweep's)
  --sweep           <dir> is a sweep folder
  --paper           put the published numbers beside ours (ICoT Table 1, AIM-CoT)
  --help, -h        show this help

Without --json or --markdown, a table. Bad input (no run in the folder, shards of different runs)
exits with 2.
`;

const SPEC = {
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  html: { type: 'string' },
  data: { type: 'string' },
  sweep: { type: 'boolean' },
  paper: { type: 'boolean' },
} as const;

function parse(args: readonly string[]): { values: Partial<Record<keyof typeof SPEC, string | boolean>>; positionals: string[] } {
  try {
    return parseArgs({ args: [...args], options: SPEC, strict: true, allowPositionals: true });
  } catch (error) {
    throw new OptionError((error as Error).message.replace(/\. To specify.*$/s, '.'), { hint: "Run 'icot eval report --help' for the options." });
  }
}

function table(rows: readonly (readonly string[])[], rightAligned: readonly number[]): string {
  const widths = rows[0]!.map((_, c) => rows.reduce((w, r) => Math.max(w, (r[c] ?? '').length), 0));
  return rows.map((r) => r.map((cell, c) => (rightAligned.includes(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

/** The JSON document of a run report: the contract's fields first. */
export function runDocument(report: RunReport, paper: boolean): Record<string, unknown> {
  const head =
    report.kind === 'rouge'
      ? { schemaVersion: JSON_SCHEMA_VERSION, dataset: report.dataset, total: report.total, rougeL: report.rougeL, byCategory: report.byCategory, missing: report.missing }
      : { schemaVersion: JSON_SCHEMA_VERSION, dataset: report.dataset, total: report.total, correct: report.correct, accuracy: report.accuracy, missing: report.missing, byDomain: report.byDomain, byTopic: report.byTopic };
  return {
    ...head,
    split: report.split,
    method: report.method,
    shots: report.shots,
    preset: report.preset,
    expected: report.expected,
    failed: report.failed,
    shards: report.shards,
    usage: report.usage,
    insertions: report.insertions,
    timings: report.timings,
    skipped: report.skipped,
    torn: report.torn,
    warnings: report.warnings,
    description: report.description,
    ...(paper ? { paper: publishedResults(report.dataset, report.shots) } : {}),
  };
}

function runText(dir: string, report: RunReport): string {
  const score = scoreTable(report);
  const cost = `insertions ${report.insertions.perSample === null ? '-' : report.insertions.perSample.toFixed(2)} / sample, inserted tokens ${report.usage.perSample ? report.usage.perSample.insertedTokens.toFixed(1) : '-'} / sample`;
  const missing = report.missing?.length ? `missing: ${report.missing.slice(0, 10).join(', ')}${report.missing.length > 10 ? `, ... (${report.missing.length - 10} more)` : ''}\n` : '';
  const failed = report.failed.length ? `failed: ${report.failed.map((f) => `${f.id} (${f.code})`).slice(0, 10).join(', ')}${report.failed.length > 10 ? ', ...' : ''}\n` : '';
  const warnings = report.warnings.map((w) => `warning: ${w}\n`).join('');
  return `${dir}: ${runHeadline(report)}\n${cost}\n${missing}${failed}${warnings}\n${table(score.rows, score.right)}\n`;
}

function sweepText(dir: string, comparison: SweepComparison): string {
  const t = sweepTable(comparison);
  return `${dir}: sweep ${comparison.name}, ${comparison.rows.length} runs (${comparison.rows.filter((r) => r.status === 'complete').length} complete); ${comparison.metric === 'rougeL' ? 'ROUGE-L' : 'accuracy'} in %, vs = percentage points\n\n${table(t.rows, t.right)}\n`;
}

/** Print (and write) a sweep's comparison in the forms asked for. */
export async function writeSweepOutputs(io: CommandIo, dir: string, comparison: SweepComparison, options: { readonly json: boolean; readonly markdown: boolean; readonly html?: string }): Promise<void> {
  if (options.html) await writeFile(options.html, renderSweepHtml(comparison));
  if (options.json) io.stdout.write(`${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...comparison })}\n`);
  else if (options.markdown) io.stdout.write(renderSweepMarkdown(comparison));
  else io.stdout.write(sweepText(dir, comparison));
}

/** `icot eval report ...`. Returns the exit code; bad input throws typed errors (exit 2 in main). */
export async function reportCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args);
  if (positionals.length !== 1)
    throw new OptionError(positionals.length ? `icot eval report takes one folder, got ${positionals.length}: ${positionals.join(' ')}.` : 'icot eval report needs the output folder of a run or a sweep.', {
      hint: 'E.g. icot eval report runs/m3cot-icot --json',
    });
  const dir = positionals[0]!;
  const json = values.json === true;
  const markdown = values.markdown === true;
  if (json && markdown) throw new OptionError('--json and --markdown cannot be used together.', { hint: 'Pick one; --html can go with either.' });
  for (const name of ['html', 'data'] as const)
    if (typeof values[name] === 'string' && (values[name] as string).trim() === '') throw new OptionError(`--${name} needs a value, got an empty string.`, { hint: "Run 'icot eval report --help' for the options." });
  const html = typeof values.html === 'string' ? await checkOutputFile(values.html, '--html') : undefined;
  const data = typeof values.data === 'string' ? resolve(values.data) : undefined;
  const paper = values.paper === true;

  const sweep = values.sweep === true || (existsSync(join(resolve(dir), SWEEP_FILE)) && !(await isRunFolder(resolve(dir))));
  if (sweep) {
    const comparison = await compareSweepFolder(resolve(dir), { ...(data ? { data } : {}), paper });
    await writeSweepOutputs(io, dir, comparison, { json, markdown, ...(html ? { html } : {}) });
    if (html) io.stderr.write(`icot: report written to ${values.html}\n`);
    return 0;
  }

  const { report } = await reportRunFolder(dir, data ? { data } : {});
  if (report.missing === null)
    throw new OptionError(`${dir}: the run file names no dataset folder that exists here and no --ids, so the missing samples cannot be listed.`, {
      hint: 'Pass the dataset folder the run read: --data <dir>.',
    });
  const published = paper ? publishedResults(report.dataset, report.shots) : null;
  if (html) {
    await writeFile(html, renderRunHtml(report, { paper: published }));
    io.stderr.write(`icot: report written to ${values.html}\n`);
  }
  if (json) io.stdout.write(`${JSON.stringify(runDocument(report, paper))}\n`);
  else if (markdown) io.stdout.write(renderRunMarkdown(report, { paper: published }));
  else io.stdout.write(runText(dir, report));
  return 0;
}
