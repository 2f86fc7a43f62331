/**
 * Run reports and sweep comparisons as Markdown and as self-contained HTML pages (inline CSS and
 * SVG charts, nothing fetched).
 * @module
 */
import { barChart, escapeXml, lineChart, scatterChart } from './charts.js';
import type { SweepComparison, SweepRow } from './compare.js';
import type { DatasetName } from './datasets.js';
import type { PublishedResult } from './paper.js';
import type { RunReport } from './report.js';
import type { AxisValue } from './sweep.js';

const DATASET_TITLES: Readonly<Record<DatasetName, string>> = { m3cot: 'M3CoT', scienceqa: 'ScienceQA', 'llava-w': 'LLaVA-Bench-in-the-Wild' };

/** A fraction as a percentage with two decimals (`0.4512` -> `45.12`); `-` for null. */
export function percent(fraction: number | null | undefined): string {
  return fraction === null || fraction === undefined ? '-' : (fraction * 100).toFixed(2);
}

/** A difference of fractions in percentage points, signed (`+1.20`, `-0.50`); `-` for null. */
export function points(delta: number | null | undefined): string {
  if (delta === null || delta === undefined) return '-';
  const text = (delta * 100).toFixed(2);
  return delta > 0 ? `+${text}` : text === '-0.00' ? '0.00' : text;
}

const number = (n: number | null | undefined, digits = 1): string => (n === null || n === undefined ? '-' : n.toFixed(digits));

/** An axis value as text: `ads`, `16`, `info-gain (rounds=2)`. */
export function axisText(value: AxisValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'object') {
    const options = Object.entries(value.options).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return options.length ? `${value.name} (${options.join(', ')})` : value.name;
  }
  return String(value);
}

/** A table as rows of cells (the first row is the header). */
/** Rows of text cells, the first row the header (what the Markdown and HTML tables are made from). */
export type Table = readonly (readonly string[])[];

function markdownTable(rows: Table, rightAligned: readonly number[] = []): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const [head, ...body] = rows;
  const rule = head!.map((_, i) => (rightAligned.includes(i) ? '---:' : '---'));
  return [head!, rule, ...body].map((r) => `| ${r.map((c, i) => (i < head!.length ? cell(c) : '')).join(' | ')} |`).join('\n');
}

function htmlTable(rows: Table, rightAligned: readonly number[] = [], className = ''): string {
  const [head, ...body] = rows;
  const td = (tag: 'td' | 'th', text: string, i: number): string => `<${tag}${rightAligned.includes(i) ? ' class="num"' : ''}>${escapeXml(text)}</${tag}>`;
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${head!.map((c, i) => td('th', c, i)).join('')}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c, i) => td('td', c, i)).join('')}</tr>`).join('')}</tbody></table>`;
}

function runTitle(report: RunReport): string {
  const parts = [report.method ?? 'run', report.shots === null ? '' : `${report.shots}-shot`, report.preset ? `preset ${report.preset}` : ''].filter(Boolean);
  return `${DATASET_TITLES[report.dataset]}${report.split ? ` ${report.split}` : ''}: ${parts.join(', ')}`;
}

/** One line: the score, how many samples, what is missing. */
export function runHeadline(report: RunReport): string {
  const score =
    report.kind === 'rouge'
      ? `ROUGE-L ${percent(report.rougeL)} over ${report.total} question${report.total === 1 ? '' : 's'}`
      : `accuracy ${percent(report.accuracy)}% (${report.correct} of ${report.total})`;
  const missing = report.missing === null ? 'missing unknown (no split)' : `${report.missing.length} missing of ${report.expected}`;
  const failed = report.failed.length ? `, ${report.failed.length} failed` : '';
  const shards = report.shards.count !== null ? `, ${report.shards.found.length} of ${report.shards.count} shards` : '';
  return `${score}; ${missing}${failed}${shards}`;
}

/** The score table: by domain and topic (multiple choice) or by category (LLaVA-W). */
export function scoreTable(report: RunReport): { rows: Table; right: number[] } {
  if (report.kind === 'rouge') {
    const rows: string[][] = [['category', 'questions', 'ROUGE-L']];
    for (const [category, t] of Object.entries(report.byCategory)) rows.push([category, String(t.total), percent(t.rougeL)]);
    rows.push(['all', String(report.total), percent(report.rougeL)]);
    return { rows, right: [1, 2] };
  }
  const rows: string[][] = [['domain', 'topic', 'correct', 'total', 'accuracy']];
  for (const [domain, t] of Object.entries(report.byDomain)) {
    rows.push([domain, '', String(t.correct), String(t.total), percent(t.accuracy)]);
    for (const [topic, c] of Object.entries(report.byTopic[domain] ?? {})) rows.push(['', topic, String(c.correct), String(c.total), percent(c.accuracy)]);
  }
  rows.push(['all', '', String(report.correct), String(report.total), percent(report.accuracy)]);
  return { rows, right: [2, 3, 4] };
}

function costTable(report: RunReport): Table {
  const timing = Object.entries(report.timings).map(([field, ms]) => [`${field} (ms / sample)`, number(ms, 1)]);
  return [
    ['cost', 'value'],
    ['insertions / sample', number(report.insertions.perSample, 2)],
    ['samples with insertions', String(report.insertions.samplesWithInsertions)],
    ['selector fallbacks', String(report.insertions.fallbacks)],
    ['inserted tokens / sample', number(report.usage.perSample?.insertedTokens, 1)],
    ['generated tokens / sample', number(report.usage.perSample?.generatedTokens, 1)],
    ['prompt tokens / sample', number(report.usage.perSample?.promptTokens, 1)],
    ...timing,
  ];
}

function paperTable(results: readonly PublishedResult[]): Table {
  return [['paper', 'model', 'method', 'shots', results[0]?.metric === 'rougeL' ? 'ROUGE-L' : 'accuracy', 'source'], ...results.map((r) => [r.paper, r.model, r.method, String(r.shots), r.printed, r.source])];
}

const list = (ids: readonly string[], max: number): string => `${ids.slice(0, max).join(', ')}${ids.length > max ? `, ... (${ids.length - max} more)` : ''}`;

/** A run report as Markdown: headline, score table, cost, missing and failed samples, warnings, published numbers. */
export function renderRunMarkdown(report: RunReport, options: { readonly paper?: readonly PublishedResult[] | null } = {}): string {
  const score = scoreTable(report);
  const parts = [`# ${runTitle(report)}`, '', runHeadline(report), '', markdownTable(score.rows, score.right), '', '## Cost', '', markdownTable(costTable(report), [1])];
  if (report.missing?.length) parts.push('', `## Missing (${report.missing.length})`, '', list(report.missing, 200));
  if (report.failed.length) parts.push('', `## Failed (${report.failed.length})`, '', markdownTable([['id', 'code', 'message'], ...report.failed.map((f) => [f.id, f.code, f.message])]));
  if (report.warnings.length) parts.push('', '## Warnings', '', ...report.warnings.map((w) => `- ${w}`));
  if (options.paper?.length) parts.push('', '## Published numbers', '', markdownTable(paperTable(options.paper), [3, 4]));
  return `${parts.join('\n')}\n`;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#1b1b1b}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}table{border-collapse:collapse;margin:8px 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f5f5f5}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.headline{font-size:1.05em}.note{color:#555;font-size:.9em}svg{display:block;margin:12px 0;max-width:100%;height:auto}
details summary{cursor:pointer}code{background:#f3f3f3;padding:0 3px}.wide{overflow-x:auto}`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeXml(title)}</title><style>${STYLE}</style></head><body>\n${body}\n</body></html>\n`;
}

/** A run report as a self-contained HTML page, with a bar chart of the score by domain or category. */
export function renderRunHtml(report: RunReport, options: { readonly paper?: readonly PublishedResult[] | null } = {}): string {
  const score = scoreTable(report);
  const groups = report.kind === 'rouge' ? Object.entries(report.byCategory).map(([g, t]) => [g, t.rougeL] as const) : Object.entries(report.byDomain).map(([g, t]) => [g, t.accuracy] as const);
  const metric = report.kind === 'rouge' ? 'ROUGE-L' : 'accuracy (%)';
  const parts = [`<h1>${escapeXml(runTitle(report))}</h1>`, `<p class="headline">${escapeXml(runHeadline(report))}</p>`];
  if (report.description !== null && report.description !== undefined) parts.push(`<details><summary>configuration</summary><pre>${escapeXml(JSON.stringify(report.description, null, 2))}</pre></details>`);
  if (groups.length)
    parts.push(
      barChart({
        title: `${metric} by ${report.kind === 'rouge' ? 'category' : 'domain'}`,
        yLabel: metric,
        xLabel: report.kind === 'rouge' ? 'category' : 'domain',
        groups: groups.map(([g]) => g),
        series: [{ name: report.method ?? 'run', values: groups.map(([, v]) => v * 100) }],
      }),
    );
  parts.push(htmlTable(score.rows, score.right), '<h2>Cost</h2>', htmlTable(costTable(report), [1]));
  if (report.missing?.length) parts.push(`<h2>Missing (${report.missing.length})</h2><details><summary>ids</summary><p>${escapeXml(report.missing.join(', '))}</p></details>`);
  if (report.failed.length) parts.push(`<h2>Failed (${report.failed.length})</h2>`, htmlTable([['id', 'code', 'message'], ...report.failed.map((f) => [f.id, f.code, f.message])]));
  if (report.warnings.length) parts.push('<h2>Warnings</h2><ul>', ...report.warnings.map((w) => `<li>${escapeXml(w)}</li>`), '</ul>');
  if (options.paper?.length) parts.push('<h2>Published numbers</h2>', htmlTable(paperTable(options.paper), [3, 4]));
  return page(runTitle(report), parts.join('\n'));
}

function groupNames(comparison: SweepComparison): string[] {
  const names: string[] = [];
  for (const row of comparison.rows) for (const g of Object.keys(row.groups)) if (!names.includes(g)) names.push(g);
  return names;
}

/** The side-by-side table of a sweep: one row per run. */
export function sweepTable(comparison: SweepComparison): { rows: Table; right: number[] } {
  const groups = groupNames(comparison);
  const metric = comparison.metric === 'rougeL' ? 'ROUGE-L' : 'accuracy';
  const head = ['run', 'role', ...comparison.axes, metric, 'vs no insertion', 'vs random', 'n', 'missing', 'insertions / sample', 'inserted tokens / sample', ...groups];
  const rows: string[][] = [head];
  for (const row of comparison.rows)
    rows.push([
      row.folder,
      row.role,
      ...comparison.axes.map((a) => axisText(row.axes[a])),
      percent(row.score),
      points(row.vsNoInsertion?.delta),
      points(row.vsRandom?.delta),
      String(row.total),
      row.status === 'not-run' ? 'not run' : row.missing === null ? '?' : String(row.missing),
      number(row.insertionsPerSample, 2),
      number(row.insertedTokensPerSample, 1),
      ...groups.map((g) => percent(row.groups[g]?.score)),
    ]);
  const first = 2 + comparison.axes.length;
  return { rows, right: Array.from({ length: head.length - first }, (_, i) => first + i) };
}

/** A sweep as Markdown: the side-by-side table and, when asked, the published numbers. */
export function renderSweepMarkdown(comparison: SweepComparison): string {
  const table = sweepTable(comparison);
  const parts = [
    `# Sweep ${comparison.name}: ${DATASET_TITLES[comparison.dataset]}`,
    '',
    `${comparison.rows.length} runs; ${comparison.metric === 'rougeL' ? 'ROUGE-L' : 'accuracy'} in %, differences in percentage points (this run minus the control).`,
    '',
    markdownTable(table.rows, table.right),
  ];
  if (comparison.paper?.length) parts.push('', '## Published numbers', '', markdownTable(paperTable(comparison.paper), [3, 4]));
  return `${parts.join('\n')}\n`;
}

const rowName = (row: SweepRow, axes: readonly string[]): string => axes.map((a) => `${a} ${axisText(row.axes[a])}`).join(', ') || row.folder;

/** The accuracy-vs-k chart of a sweep that sweeps k (null otherwise). */
function accuracyVsK(comparison: SweepComparison, metric: string): string | null {
  if (!comparison.axes.includes('k')) return null;
  const withK = comparison.rows.filter((r) => r.axes['k'] !== undefined && r.score !== null);
  const ks = [...new Set(withK.map((r) => String(r.axes['k'])))].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  if (ks.length === 0) return null;
  const others = comparison.axes.filter((a) => a !== 'k' && new Set(withK.map((r) => axisText(r.axes[a]))).size > 1);
  const series = new Map<string, (number | null)[]>();
  for (const row of withK) {
    const name = others.length ? others.map((a) => `${a} ${axisText(row.axes[a])}`).join(', ') : metric;
    const values = series.get(name) ?? ks.map(() => null);
    values[ks.indexOf(String(row.axes['k']))] = row.score! * 100;
    series.set(name, values);
  }
  const references = comparison.rows.filter((r) => r.role === 'no-insertion' && r.score !== null).map((r) => ({ name: `no insertion${Object.keys(r.axes).length ? ` (${rowName(r, Object.keys(r.axes))})` : ''}`, value: r.score! * 100 }));
  return lineChart({ title: `${metric} vs k (patches per insertion)`, xLabel: 'k', yLabel: `${metric} (%)`, categories: ks, series: [...series].map(([name, values]) => ({ name, values })), references });
}

/** A sweep as a self-contained HTML page: the table, accuracy vs k, per domain (or category), inserted tokens vs accuracy, published numbers. */
export function renderSweepHtml(comparison: SweepComparison): string {
  const metric = comparison.metric === 'rougeL' ? 'ROUGE-L' : 'accuracy';
  const table = sweepTable(comparison);
  const scored = comparison.rows.filter((r) => r.score !== null);
  const title = `Sweep ${comparison.name}: ${DATASET_TITLES[comparison.dataset]}`;
  const parts = [
    `<h1>${escapeXml(title)}</h1>`,
    `<p class="note">${comparison.rows.length} runs (${comparison.rows.filter((r) => r.status === 'complete').length} complete). ${escapeXml(metric)} in %; "vs" columns in percentage points: this run minus its no-insertion control, or minus the random selector at the same k.</p>`,
    `<div class="wide">${htmlTable(table.rows, table.right)}</div>`,
  ];
  const byK = accuracyVsK(comparison, metric);
  parts.push('<h2>Plots</h2>');
  parts.push(byK ?? '<p class="note">k is not swept: no accuracy-vs-k plot.</p>');
  const groups = groupNames(comparison);
  if (groups.length && scored.length) {
    const shown = scored.slice(0, 12);
    parts.push(
      barChart({
        title: `${metric} by ${comparison.groupBy}${shown.length < scored.length ? ` (first ${shown.length} runs)` : ''}`,
        xLabel: comparison.groupBy,
        yLabel: `${metric} (%)`,
        groups,
        series: shown.map((r) => ({ name: r.folder, values: groups.map((g) => (r.groups[g] ? r.groups[g]!.score * 100 : null)) })),
      }),
    );
  }
  const costed = scored.filter((r) => r.insertedTokensPerSample !== null);
  if (costed.length)
    parts.push(
      scatterChart({
        title: `inserted tokens vs ${metric}`,
        xLabel: 'inserted tokens per sample',
        yLabel: `${metric} (%)`,
        points: costed.map((r) => ({ label: r.folder, x: r.insertedTokensPerSample!, y: r.score! * 100, group: r.role === 'grid' ? 'grid' : `control: ${r.role}` })),
      }),
    );
  else parts.push('<p class="note">No run reports token usage: no inserted-tokens plot.</p>');
  if (comparison.paper?.length) parts.push('<h2>Published numbers</h2>', htmlTable(paperTable(comparison.paper), [3, 4]));
  return page(title, parts.join('\n'));
}
