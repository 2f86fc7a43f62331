import { describe, expect, it } from 'vitest';
import { OptionError } from '@icot/core';
import { EvalDataError, decideCell, flagArgs, folderName, fnv1a, parseSweepSpec, planSweep, type SweepCell, type SweepSpec } from '../src/index.js';

const BASE = { dataset: 'm3cot', data: '/data/m3cot', limit: 20 } as const;

const yaml = `
name: ads-vs-info-gain
dataset: m3cot
data: data/m3cot
limit: 20
options:
  method: icot
  shots: 0
  max-new-tokens: 64
grid:
  selector: [ads, {name: info-gain, options: {rounds: 2}}]
  k: [8, 16]
`;

function plan(spec: SweepSpec): ReturnType<typeof planSweep> {
  return planSweep(spec, BASE, 'test');
}

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

describe('parseSweepSpec', () => {
  it('YAML: the top-level keys, options, grid axes in the file\'s order, {name, options} strategies', () => {
    const spec = parseSweepSpec(yaml, 'sweep.yaml');
    expect(spec).toMatchObject({ name: 'ads-vs-info-gain', dataset: 'm3cot', data: 'data/m3cot', limit: 20, split: null, model: null, out: null, options: { method: 'icot', shots: 0, 'max-new-tokens': 64 }, controls: { noInsertion: true, random: true } });
    expect(spec.grid).toEqual([
      { axis: 'selector', values: ['ads', { name: 'info-gain', options: { rounds: 2 } }] },
      { axis: 'k', values: [8, 16] },
    ]);
  });
  it('JSON, camelCase keys as flags, a single value as a one-value axis, controls as a map', () => {
    const spec = parseSweepSpec(JSON.stringify({ dataset: 'llava-w', data: 'd', options: { method: 'icot', maxNewTokens: 32, selectorOption: { seed: 3 } }, grid: { maxInsertions: [1, 3], decoder: 'kv-rebind' }, controls: { random: false } }), 's.json');
    expect(spec.options).toEqual({ method: 'icot', 'max-new-tokens': 32, 'selector-option': ['seed=3'] });
    expect(spec.grid).toEqual([
      { axis: 'max-insertions', values: [1, 3] },
      { axis: 'decoder', values: ['kv-rebind'] },
    ]);
    expect(spec.controls).toEqual({ noInsertion: true, random: false });
  });
  it('mistakes are errors naming the file and the key', () => {
    const cases: [string, RegExp][] = [
      ['dataset: m3cot\ngrid: {k: [8]}', /"data" is required/],
      ['dataset: mmlu\ndata: d', /"dataset" must be one of m3cot, scienceqa, llava-w/],
      ['dataset: m3cot\ndata: d\nselector: ads', /unknown key "selector"/],
      ['dataset: m3cot\ndata: d\noptions: {out: x}', /"options" sets --out, which the sweep sets itself/],
      ['dataset: m3cot\ndata: d\ngrid: {shard: [1]}', /grid\.shard cannot be swept/],
      ['dataset: m3cot\ndata: d\ngrid: {k: []}', /grid\.k is an empty list/],
      ['dataset: m3cot\ndata: d\ngrid: {k: [8, 8]}', /grid\.k lists 8 twice/],
      ['dataset: m3cot\ndata: d\noptions: {k: 8}\ngrid: {k: [8, 16]}', /k is both in "options" and in "grid"/],
      ['dataset: m3cot\ndata: d\ngrid: {k: [{name: x}]}', /grid\.k holds \{"name":"x"\}; values are text, numbers or true\/false\./],
      ['dataset: m3cot\ndata: d\ngrid: {selector: [{options: {a: 1}}]}', /a value of grid\.selector needs a "name"/],
      ['dataset: m3cot\ndata: d\ngrid: {selector-option: [a=1]}', /sweep a strategy's options as \{name, options\} values of grid\.selector/],
      ['dataset: m3cot\ndata: d\nlimit: -1', /"limit" must be a positive integer/],
      ['dataset: m3cot\ndata: d\noptions: {method: icot}\ncontrols: maybe', /"controls" must be true, false or \{noInsertion, random\}/],
      ['dataset: m3cot\ndata: d\ngrid: {k: [8]}', /no "method": icot eval run needs one/],
      ['dataset: m3cot\ndata: d\n  grid: [', /^sweep\.yaml: not YAML/],
      ['dataset: m3cot\ndataset: m3cot\ndata: d', /^sweep\.yaml: not YAML .*[Mm]ap keys must be unique/],
    ];
    for (const [text, message] of cases) {
      const error = thrown(() => parseSweepSpec(text, 'sweep.yaml'));
      expect(error, text).toBeInstanceOf(EvalDataError);
      expect(error.message, text).toMatch(message);
      expect((error as EvalDataError).location).toEqual({ file: 'sweep.yaml' });
    }
    expect(thrown(() => parseSweepSpec('{"dataset": "m3cot",', 's.json')).message).toMatch(/^s\.json: not JSON/);
  });
});

describe('planSweep: grid expansion and the controls', () => {
  it('every combination, first axis slowest; then no insertion and random at the same k', () => {
    const p = plan(parseSweepSpec(yaml, 'sweep.yaml'));
    expect(p.axes).toEqual(['selector', 'k']);
    expect(p.cells.map((c) => [c.folder, c.role])).toEqual([
      ['selector-ads_k-8', 'grid'],
      ['selector-ads_k-16', 'grid'],
      ['selector-info-gain+rounds=2_k-8', 'grid'],
      ['selector-info-gain+rounds=2_k-16', 'grid'],
      ['no-insertion', 'no-insertion'],
      ['selector-random_k-8', 'random'],
      ['selector-random_k-16', 'random'],
    ]);
    const [first, , infoGain, , none, random8] = p.cells as SweepCell[];
    expect(first!.args).toEqual(['--dataset', 'm3cot', '--data', '/data/m3cot', '--limit', '20', '--method', 'icot', '--shots', '0', '--max-new-tokens', '64', '--selector', 'ads', '--k', '8']);
    expect(infoGain!.args.slice(-6)).toEqual(['--selector', 'info-gain', '--selector-option', 'rounds=2', '--k', '8']);
    expect(none!.flags).toEqual({ ...BASE, method: 'icot', shots: 0, 'max-new-tokens': 64, 'max-insertions': 0 });
    expect(none!.axes).toEqual({});
    expect(random8!.flags).toEqual({ ...BASE, method: 'icot', shots: 0, 'max-new-tokens': 64, selector: 'random', k: 8 });
    expect(random8!.axes).toEqual({ selector: 'random', k: 8 });
  });

  it('controls already in the grid are not added twice (random with a seed counts; max-insertions 0 counts)', () => {
    const spec = parseSweepSpec(
      `dataset: m3cot\ndata: d\ngrid:\n  method: [icot, cot]\n  selector: [ads, {name: random, options: {seed: 1}}]\n  max-insertions: [0, 3]\n`,
      'sweep.yaml',
    );
    const p = plan(spec);
    expect(p.cells.filter((c) => c.role !== 'grid')).toEqual([]);
    expect(p.cells).toHaveLength(8);
  });

  it('one no-insertion control per combination of the other options; none for methods that insert nothing', () => {
    const p = plan(parseSweepSpec('dataset: m3cot\ndata: d\ngrid:\n  method: [icot, ccot]\n  shots: [0, 1]\n  decoder: [input, kv-rebind]\n', 'sweep.yaml'));
    const controls = p.cells.filter((c) => c.role !== 'grid');
    // ccot inserts only with --max-insertions (icot eval run): no controls for it
    expect(controls.map((c) => c.folder)).toEqual([
      'no-insertion_method-icot_shots-0',
      'no-insertion_method-icot_shots-1',
      'selector-random_method-icot_shots-0_decoder-input',
      'selector-random_method-icot_shots-0_decoder-kv-rebind',
      'selector-random_method-icot_shots-1_decoder-input',
      'selector-random_method-icot_shots-1_decoder-kv-rebind',
    ]);
    expect(controls[0]!.flags).toEqual({ ...BASE, method: 'icot', shots: 0, 'max-insertions': 0 });
    expect(controls[2]!.flags).toEqual({ ...BASE, method: 'icot', shots: 0, decoder: 'input', selector: 'random' });
    const inserting = plan(parseSweepSpec('dataset: m3cot\ndata: d\noptions: {max-insertions: 2}\ngrid:\n  method: [cot]\n', 'sweep.yaml'));
    expect(inserting.cells.map((c) => c.folder)).toEqual(['method-cot', 'no-insertion_method-cot', 'selector-random_method-cot']); // cot with insertions asked for
    const off = plan(parseSweepSpec('dataset: m3cot\ndata: d\noptions: {method: icot}\ncontrols: false\ngrid: {k: [4]}', 's.yaml'));
    expect(off.cells.map((c) => c.folder)).toEqual(['k-4']);
    const none = plan(parseSweepSpec('dataset: m3cot\ndata: d\noptions: {method: icot}\n', 's.yaml'));
    expect(none.cells.map((c) => [c.folder, c.role])).toEqual([
      ['run', 'grid'],
      ['no-insertion', 'no-insertion'],
      ['selector-random', 'random'],
    ]);
  });

  it('a trigger with options, sampling options and unsafe characters make safe, unique folder names', () => {
    const p = plan(parseSweepSpec('dataset: m3cot\ndata: d\noptions: {method: icot}\ncontrols: false\ngrid:\n  trigger: [signal, {name: attention-shift, options: {delta: 0.2, layers: "1/2"}}]\n  temperature: [0.7]\n', 's.yaml'));
    expect(p.cells.map((c) => c.folder)).toEqual(['trigger-signal_temperature-0.7', 'trigger-attention-shift+delta=0.2+layers=1-2_temperature-0.7']);
    expect(p.cells[1]!.args).toContain('delta=0.2');
    expect(folderName(['x'.repeat(150)], 'id')).toBe(`${'x'.repeat(91)}-${fnv1a('id')}`);
    expect(folderName(['../../etc'], 'id')).toBe('etc');
    expect(fnv1a('')).toBe('811c9dc5'); // FNV-1a's offset basis
    expect(fnv1a('a')).toBe('e40c292c'); // the published test vector for "a"
  });

  it('flag arguments: switches, --no- forms and repeated options', () => {
    expect(flagArgs({ greedy: true, 'kv-delimiters': false, 'selector-option': ['a=1', 'b=x'], k: 16 })).toEqual(['--greedy', '--no-kv-delimiters', '--selector-option', 'a=1', '--selector-option', 'b=x', '--k', '16']);
  });
});

describe('decideCell: resuming a sweep', () => {
  const cell = plan(parseSweepSpec(yaml, 'sweep.yaml')).cells[0]!;
  it('run when nothing started, resume a partial run, skip a complete one', () => {
    expect(decideCell(cell, { recorded: null, started: false, complete: false }).action).toBe('run');
    expect(decideCell(cell, { recorded: cell.flags, started: false, complete: false }).action).toBe('run'); // recorded, then stopped before the run file
    expect(decideCell(cell, { recorded: cell.flags, started: true, complete: false })).toEqual({ action: 'resume', reason: 'partial' });
    expect(decideCell(cell, { recorded: cell.flags, started: true, complete: true })).toEqual({ action: 'skip', reason: 'complete' });
    expect(decideCell(cell, { recorded: { ...cell.flags, data: '/elsewhere/m3cot' }, started: true, complete: true }).action).toBe('skip'); // the dataset moved
  });
  it('a folder of other options, or a run the sweep did not start, is refused', () => {
    const other = thrown(() => decideCell(cell, { recorded: { ...cell.flags, k: 32, temperature: 0.7 }, started: true, complete: false }));
    expect(other).toBeInstanceOf(OptionError);
    expect(other.message).toBe('The folder selector-ads_k-8 holds a run of other options (--k, --temperature differ).');
    expect(thrown(() => decideCell(cell, { recorded: null, started: true, complete: true })).message).toBe('The folder selector-ads_k-8 holds a run the sweep did not start (no cell.json).');
  });
});
