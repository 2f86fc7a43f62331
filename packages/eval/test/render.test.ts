import { describe, expect, it } from 'vitest';
import {
  compareSweep,
  lineChart,
  mergeShards,
  niceTicks,
  parseResultLines,
  parseRunFile,
  parseSweepSpec,
  planSweep,
  points,
  publishedResults,
  renderRunHtml,
  renderRunMarkdown,
  renderSweepHtml,
  renderSweepMarkdown,
  summarizeRun,
  type RunReport,
  type SweepPlan,
} from '../src/index.js';

/** A run report of `n` samples, `right` of them correct, split over two domains, with `inserted` tokens per sample. */
function report(n: number, right: number, inserted: number): RunReport {
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ id: `s${i}`, correct: i < right, domain: i % 2 ? 'science' : 'commonsense', topic: 't', insertions: inserted ? [{ step: 1 }] : [], usage: { promptTokens: 50, generatedTokens: 20, insertedTokens: inserted }, timings: { totalMs: 10 } }),
  );
  const run = parseRunFile(JSON.stringify({ schemaVersion: 1, dataset: 'm3cot', split: 'test', method: 'icot', shots: 0, shard: null, ids: Array.from({ length: n }, (_, i) => `s${i}`) }), 'run.json');
  return summarizeRun(mergeShards([{ shard: null, run: { file: 'run.json', value: run }, results: { file: 'results.jsonl', lines: parseResultLines(lines.map((l) => `${l}\n`).join(''), 'results.jsonl') } }]));
}

const plan: SweepPlan = planSweep(parseSweepSpec('dataset: m3cot\ndata: d\noptions: {method: icot}\ngrid:\n  selector: [ads]\n  k: [8, 16]\n', 'sweep.yaml'), { dataset: 'm3cot', data: '/d' }, 'demo');
// folders: selector-ads_k-8, selector-ads_k-16, no-insertion, selector-random_k-8, selector-random_k-16
const reports = new Map<string, RunReport | null>([
  ['selector-ads_k-8', report(10, 6, 40)],
  ['selector-ads_k-16', report(10, 7, 80)],
  ['no-insertion', report(10, 5, 0)],
  ['selector-random_k-8', report(10, 4, 40)],
  ['selector-random_k-16', null],
]);

describe('compareSweep', () => {
  const comparison = compareSweep(plan, reports, { paper: true });
  it('each run beside its no-insertion control and the random selector at the same k', () => {
    const byFolder = new Map(comparison.rows.map((r) => [r.folder, r]));
    expect(byFolder.get('selector-ads_k-8')).toMatchObject({ score: 0.6, correct: 6, status: 'complete', insertedTokensPerSample: 40, insertionsPerSample: 1 });
    expect(byFolder.get('selector-ads_k-8')!.vsNoInsertion).toEqual({ folder: 'no-insertion', delta: 0.6 - 0.5 });
    expect(byFolder.get('selector-ads_k-8')!.vsRandom).toEqual({ folder: 'selector-random_k-8', delta: 0.6 - 0.4 });
    expect(byFolder.get('selector-ads_k-16')!.vsRandom).toEqual({ folder: 'selector-random_k-16', delta: null }); // not run yet
    expect(byFolder.get('selector-random_k-8')!.vsRandom).toBeNull();
    expect(byFolder.get('selector-random_k-8')!.vsNoInsertion!.delta).toBeCloseTo(-0.1, 12);
    expect(byFolder.get('no-insertion')!.vsNoInsertion).toBeNull();
    expect(byFolder.get('selector-random_k-16')).toMatchObject({ status: 'not-run', score: null, total: 0 });
    expect(byFolder.get('selector-ads_k-16')!.groups).toEqual({ commonsense: { total: 5, score: 4 / 5 }, science: { total: 5, score: 3 / 5 } });
  });
  it('the published numbers of the dataset when asked', () => {
    expect(comparison.paper).toEqual(publishedResults('m3cot'));
    expect(comparison.paper!.find((r) => r.model === 'Qwen2-VL-7B' && r.method === 'ICoT' && r.shots === 0)).toMatchObject({ printed: '44.1', value: 0.441, source: 'arXiv:2411.19488, Table 1' });
    expect(publishedResults('llava-w', 1).map((r) => `${r.model} ${r.method} ${r.printed}`)).toEqual(['Chameleon-7B No-CoT 23.9', 'Chameleon-7B ICoT 27.6', 'Qwen2-VL-7B No-CoT 33.5', 'Qwen2-VL-7B ICoT 35.7']);
    expect(compareSweep(plan, reports).paper).toBeNull();
  });
});

describe('Markdown and HTML', () => {
  const comparison = compareSweep(plan, reports, { paper: true });
  it('the sweep table side by side, differences in percentage points', () => {
    const md = renderSweepMarkdown(comparison);
    expect(md).toContain('| run | role | selector | k | accuracy | vs no insertion | vs random | n | missing | insertions / sample | inserted tokens / sample | science | commonsense |'); // M3CoT's domain order
    expect(md).toContain('| selector-ads_k-16 | grid | ads | 16 | 70.00 | +20.00 | - | 10 | 0 | 1.00 | 80.0 | 60.00 | 80.00 |');
    expect(md).toContain('| selector-random_k-16 | random | random | 16 | - | - | - | 0 | not run | - | - | - | - |');
    expect(md).toContain('| ICoT (Gao et al., CVPR 2025) | Qwen2-VL-7B | ICoT | 0 | 44.1 | arXiv:2411.19488, Table 1 |');
    expect(points(-0.0000001)).toBe('0.00');
    expect(points(-0.05)).toBe('-5.00');
  });
  it('the sweep page is self-contained: inline SVG plots, no script, nothing fetched', () => {
    const html = renderSweepHtml(comparison);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html.match(/<svg /g)).toHaveLength(3); // accuracy vs k, by domain, inserted tokens vs accuracy
    expect(html).toContain('accuracy vs k (patches per insertion)');
    expect(html).toContain('<title>selector ads, 16: 70</title>'); // the point of ads at k = 16
    expect(html).toContain('stroke-dasharray="5 4"><title>no insertion: 50</title>'); // the control as a reference line
    expect(html).toContain('inserted tokens vs accuracy');
    expect(html).toContain('Published numbers');
  });
  it('a run report: headline, tables, missing and failed samples', () => {
    const run = report(4, 3, 10);
    expect(renderRunMarkdown(run)).toContain('accuracy 75.00% (3 of 4); 0 missing of 4');
    expect(renderRunMarkdown(run)).toContain('| all |  | 3 | 4 | 75.00 |');
    const html = renderRunHtml({ ...run, missing: ['x<y'], failed: [{ id: 'z', code: 'internal', message: 'a & b' }] } as RunReport);
    expect(html).toContain('x&lt;y');
    expect(html).toContain('a &amp; b');
    expect(html.match(/<svg /g)).toHaveLength(1);
  });
});

describe('charts', () => {
  it('round ticks that cover the range', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(37, 62)).toEqual([35, 40, 45, 50, 55, 60, 65]);
    expect(niceTicks(5, 5).length).toBeGreaterThan(1);
  });
  it('a line with a gap where a value is missing; labels escaped', () => {
    const svg = lineChart({ title: 'a <b>', xLabel: 'k', yLabel: 'acc', categories: ['4', '8', '16'], series: [{ name: 's&t', values: [40, null, 60] }] });
    expect(svg).toContain('<title>a &lt;b&gt;</title>');
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toMatch(/<path d="M[\d.]+ [\d.]+M[\d.]+ [\d.]+"/); // two moves: no segment across the gap
    expect(svg).toContain('s&amp;t');
  });
});
