/**
 * Sweeps: a grid of `icot eval run` configurations (selector x k x decoder x trigger x method, or
 * any other run option), each run into its own folder, with the controls a reviewer asks for.
 * Parsing the sweep file, expanding the grid, naming the folders and deciding what to do with a
 * folder that already exists; running the cells is the command's job.
 * @module
 */
import { OptionError } from '@icot/core';
import { parse as parseYaml } from 'yaml';
import { DATASET_NAMES, type DatasetName } from './datasets.js';
import { EvalDataError } from './errors.js';
import { isObject } from './jsonl.js';
import { canonicalJson } from './report.js';

/** A value of a run option: text, a number, a switch, or the values of a repeatable option. */
export type FlagValue = string | number | boolean | readonly string[];

/** A strategy with options: `{name: info-gain, options: {rounds: 2}}` (selector and trigger axes). */
export interface NamedStrategy {
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** One value of a grid axis. */
export type AxisValue = string | number | boolean | NamedStrategy;

/** A sweep file, checked. Option names are `icot eval run`'s flags without the dashes (`max-new-tokens`). */
export interface SweepSpec {
  /** The sweep's name (default: the file's name without its extension). */
  readonly name: string | null;
  readonly dataset: DatasetName;
  /** The dataset folder, as written in the file (relative to the file's folder). */
  readonly data: string;
  readonly split: string | null;
  readonly limit: number | null;
  /** The model folder or hub id (absent: the run command's default). */
  readonly model: string | null;
  /** Where the run folders go, as written in the file (relative to the file's folder). */
  readonly out: string | null;
  /** Run options every cell gets. */
  readonly options: Readonly<Record<string, FlagValue>>;
  /** The axes, in the file's order, each with its values. */
  readonly grid: readonly { readonly axis: string; readonly values: readonly AxisValue[] }[];
  /** Which controls to add (both by default). */
  readonly controls: { readonly noInsertion: boolean; readonly random: boolean };
}

/** Why a cell is in the plan. */
export type CellRole = 'grid' | 'no-insertion' | 'random';

/** One run of a sweep. */
export interface SweepCell {
  /** The run folder's name inside the sweep folder. */
  readonly folder: string;
  /** `grid` for a grid cell; `no-insertion` / `random` for a control the sweep added. */
  readonly role: CellRole;
  /** The grid axes' values of this cell (controls: the values they keep, `selector: random`). */
  readonly axes: Readonly<Record<string, AxisValue>>;
  /** Every run option of the cell (`dataset`, `data`, ... and the axes' flags), without `out`. */
  readonly flags: Readonly<Record<string, FlagValue>>;
  /** `icot eval run` arguments (without `--out`). */
  readonly args: readonly string[];
}

/** A sweep's cells, grid first, then the controls. */
export interface SweepPlan {
  readonly name: string;
  readonly dataset: DatasetName;
  readonly axes: readonly string[];
  readonly cells: readonly SweepCell[];
}

/** The options a sweep sets itself, or that would break a sweep's folders. */
const RESERVED = new Set(['out', 'shard', 'shard-count', 'json', 'help', 'h', 'quiet']);
/** The file's own keys. */
const TOP_LEVEL = ['name', 'dataset', 'data', 'split', 'limit', 'model', 'out', 'options', 'grid', 'controls'] as const;
/**
 * Options of where, what and how patches are inserted: a no-insertion control drops them; the
 * others (method, shots, model, sampling ...) it keeps.
 */
export const STRATEGY_FLAGS: ReadonlySet<string> = new Set([
  'selector',
  'selector-option',
  'k',
  'decoder',
  'no-kv-delimiters',
  'trigger',
  'trigger-option',
  'signal',
  'signal-token-ids',
  'every',
  'max-insertions',
  'no-insertions',
  'patch-layout',
  'insert-after-prompt',
  'no-insert-after-prompt',
  'exclude-selected',
  'no-exclude-selected',
  'attention-layers',
]);
/** Axes whose values may be `{name, options}`, and the option flag that carries the options. */
const NAMED_AXES: Readonly<Record<string, string>> = { selector: 'selector-option', trigger: 'trigger-option' };

const FORMAT_HINT = 'See docs/evaluation.md (Sweeps) for the sweep file format.';

function fail(message: string, file: string, hint = FORMAT_HINT): never {
  throw new EvalDataError(`${file}: ${message}`, { hint, location: { file } });
}

/** `maxInsertions` -> `max-insertions`; kebab-case stays as it is. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function flagValue(value: unknown, where: string, file: string): FlagValue {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.map(String);
  return fail(`${where} must be text, a number, true/false or a list of texts, not ${JSON.stringify(value)?.slice(0, 60)}.`, file);
}

/** `{rounds: 2, attention: 'context-enhanced'}` as `name=value` texts (values as JSON unless plain text). */
function optionPairs(options: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(options).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
}

function checkOptions(raw: unknown, file: string): Record<string, FlagValue> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) fail('"options" must be a map of run options to values, e.g. {shots: 1, max-new-tokens: 128}.', file);
  const out: Record<string, FlagValue> = {};
  for (const [key, value] of Object.entries(raw)) {
    const flag = flagName(key);
    if (RESERVED.has(flag)) fail(`"options" sets --${flag}, which the sweep sets itself.`, file, `Remove ${key} from "options"${flag === 'out' ? '; put the sweep folder in "out" or pass --out' : ''}.`);
    if ((TOP_LEVEL as readonly string[]).includes(flag)) fail(`"options" sets ${flag}; it is a key of the file itself.`, file, `Move ${key} to the top level of the file.`);
    if (flag in out) fail(`"options" sets --${flag} twice (${key}).`, file, 'Give each option once.');
    if ((flag === 'selector-option' || flag === 'trigger-option') && isObject(value)) out[flag] = optionPairs(value);
    else out[flag] = flagValue(value, `options.${key}`, file);
  }
  return out;
}

function checkAxisValue(axis: string, value: unknown, file: string): AxisValue {
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  if (isObject(value) && axis in NAMED_AXES) {
    const { name, options, ...rest } = value;
    if (typeof name !== 'string' || name === '') fail(`a value of grid.${axis} needs a "name" (e.g. {name: info-gain, options: {rounds: 2}}).`, file);
    if (Object.keys(rest).length) fail(`a value of grid.${axis} has unknown keys (${Object.keys(rest).join(', ')}); it takes "name" and "options".`, file);
    if (options !== undefined && !isObject(options)) fail(`"options" of grid.${axis} value '${name}' must be a map, e.g. {rounds: 2}.`, file);
    return { name, options: (options as Record<string, unknown> | undefined) ?? {} };
  }
  return fail(
    `grid.${axis} holds ${JSON.stringify(value)?.slice(0, 60)}; values are text, numbers or true/false${axis in NAMED_AXES ? `, or {name, options}` : ''}.`,
    file,
  );
}

/**
 * Check a sweep document (a parsed JSON or YAML file). Required: `dataset`, `data`, and a `method`
 * in `options` or `grid`. Optional:
 * `name`, `split`, `limit`, `model`, `out`, `options` (run options every cell gets), `grid` (axis ->
 * list of values; selector and trigger values may be `{name, options}`), `controls` (true, false, or
 * `{noInsertion, random}`). Keys may be kebab-case flags or camelCase. Problems are
 * {@link EvalDataError}s naming the file and the key.
 */
export function checkSweepSpec(document: unknown, file: string): SweepSpec {
  if (!isObject(document)) fail('a sweep file is a map with at least "dataset", "data" and "grid".', file);
  const unknown = Object.keys(document).filter((k) => !(TOP_LEVEL as readonly string[]).includes(k));
  if (unknown.length) fail(`unknown key${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => `"${k}"`).join(', ')}.`, file, `The file's keys are ${TOP_LEVEL.join(', ')}; run options go under "options", swept ones under "grid".`);
  const dataset = document['dataset'];
  if (typeof dataset !== 'string' || !(DATASET_NAMES as readonly string[]).includes(dataset)) fail(`"dataset" must be one of ${DATASET_NAMES.join(', ')}.`, file);
  const text = (key: string, required = false): string | null => {
    const value = document[key];
    if (value === undefined || value === null) {
      if (required) fail(`"${key}" is required.`, file, key === 'data' ? 'Name the dataset folder (relative to the sweep file), e.g. data: data/m3cot.' : FORMAT_HINT);
      return null;
    }
    if (typeof value !== 'string' || value.trim() === '') fail(`"${key}" must be a non-empty text.`, file);
    return value;
  };
  const data = text('data', true)!;
  const limit = document['limit'];
  if (limit !== undefined && limit !== null && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) fail('"limit" must be a positive integer.', file);
  const gridRaw = document['grid'] ?? {};
  if (!isObject(gridRaw)) fail('"grid" must be a map of run options to lists of values, e.g. {selector: [ads, random], k: [8, 16]}.', file);
  const options = checkOptions(document['options'], file);
  const grid: { axis: string; values: AxisValue[] }[] = [];
  for (const [key, rawValues] of Object.entries(gridRaw)) {
    const axis = flagName(key);
    if (RESERVED.has(axis) || axis === 'dataset' || axis === 'data' || axis === 'name' || axis === 'controls') fail(`grid.${key} cannot be swept.`, file, `Remove ${key} from "grid".`);
    if (grid.some((g) => g.axis === axis)) fail(`grid sweeps ${axis} twice.`, file, 'Give each axis once.');
    if (axis in options) fail(`${axis} is both in "options" and in "grid".`, file, `Keep ${axis} in one of them.`);
    if ((axis === 'selector-option' || axis === 'trigger-option')) fail(`grid.${key}: sweep a strategy's options as {name, options} values of grid.${axis.replace('-option', '')}.`, file);
    const values = Array.isArray(rawValues) ? rawValues : [rawValues];
    if (values.length === 0) fail(`grid.${key} is an empty list.`, file, `Give ${key} at least one value, or remove it.`);
    const checked = values.map((v) => checkAxisValue(axis, v, file));
    const keys = checked.map((v) => canonicalJson(v));
    const twice = keys.find((k, i) => keys.indexOf(k) !== i);
    if (twice !== undefined) fail(`grid.${key} lists ${twice} twice.`, file, 'Give each value once.');
    grid.push({ axis, values: checked });
  }
  if (!('method' in options) && !grid.some((g) => g.axis === 'method'))
    fail('no "method": icot eval run needs one.', file, 'Put method in "options" (method: icot) or sweep it in "grid" (method: [cot, icot]).');
  for (const [axis, values] of [['limit', limit], ['split', document['split']], ['model', document['model']]] as const)
    if (values !== undefined && grid.some((g) => g.axis === axis)) fail(`${axis} is both a key of the file and in "grid".`, file, `Keep ${axis} in one of them.`);
  const controlsRaw = document['controls'];
  let controls = { noInsertion: true, random: true };
  if (typeof controlsRaw === 'boolean') controls = { noInsertion: controlsRaw, random: controlsRaw };
  else if (isObject(controlsRaw)) {
    const extra = Object.keys(controlsRaw).filter((k) => k !== 'noInsertion' && k !== 'random' && k !== 'no-insertion');
    if (extra.length) fail(`"controls" takes noInsertion and random, not ${extra.join(', ')}.`, file);
    const flag = (v: unknown, k: string): boolean => {
      if (v === undefined) return true;
      if (typeof v !== 'boolean') fail(`controls.${k} must be true or false.`, file);
      return v;
    };
    controls = { noInsertion: flag(controlsRaw['noInsertion'] ?? controlsRaw['no-insertion'], 'noInsertion'), random: flag(controlsRaw['random'], 'random') };
  } else if (controlsRaw !== undefined && controlsRaw !== null) fail('"controls" must be true, false or {noInsertion, random}.', file);
  return {
    name: text('name'),
    dataset: dataset as DatasetName,
    data,
    split: text('split'),
    limit: typeof limit === 'number' ? limit : null,
    model: text('model'),
    out: text('out'),
    options,
    grid,
    controls,
  };
}

/**
 * Parse a sweep file's text: JSON when the file name ends in `.json`, YAML (1.2, with the `yaml`
 * package) otherwise. See {@link checkSweepSpec} for the format.
 */
export function parseSweepSpec(text: string, file: string): SweepSpec {
  let document: unknown;
  if (/\.json$/i.test(file)) {
    try {
      document = JSON.parse(text);
    } catch (error) {
      fail(`not JSON (${(error as Error).message}).`, file, 'Fix the JSON, or write the sweep as YAML (.yaml).');
    }
  } else {
    try {
      document = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
    } catch (error) {
      fail(`not YAML (${(error as Error).message.split('\n')[0]}).`, file, 'Fix the YAML (two-space indents, "key: value", lists as [a, b] or "- a" lines).');
    }
  }
  return checkSweepSpec(document, file);
}

/** The run arguments of a flag map, in its order (`true` -> `--x`, `false` -> `--no-x`, lists repeat the flag). */
export function flagArgs(flags: Readonly<Record<string, FlagValue>>): string[] {
  const args: string[] = [];
  for (const [flag, value] of Object.entries(flags)) {
    if (value === true) args.push(`--${flag}`);
    else if (value === false) args.push(`--no-${flag}`);
    else if (Array.isArray(value)) for (const v of value) args.push(`--${flag}`, v);
    else args.push(`--${flag}`, String(value));
  }
  return args;
}

function axisFlags(axis: string, value: AxisValue): Record<string, FlagValue> {
  if (typeof value === 'object') {
    const flags: Record<string, FlagValue> = { [axis]: value.name };
    const pairs = optionPairs(value.options);
    if (pairs.length) flags[NAMED_AXES[axis]!] = pairs;
    return flags;
  }
  return { [axis]: value };
}

/**
 * Whether a cell's options insert nothing: `max-insertions 0`, `no-insertions`, or a method other
 * than `icot` without `max-insertions` (`icot eval run` inserts only for icot unless told to).
 */
export function insertsNothing(flags: Readonly<Record<string, FlagValue>>): boolean {
  if (flags['max-insertions'] === 0 || flags['max-insertions'] === '0' || flags['no-insertions'] === true) return true;
  return flags['method'] !== undefined && flags['method'] !== 'icot' && flags['max-insertions'] === undefined;
}

function without(flags: Readonly<Record<string, FlagValue>>, drop: (flag: string) => boolean): Record<string, FlagValue> {
  return Object.fromEntries(Object.entries(flags).filter(([flag]) => !drop(flag)));
}

/** The options of a cell's no-insertion control: its own without the strategy options, and `max-insertions 0`. */
export function noInsertionFlags(flags: Readonly<Record<string, FlagValue>>): Record<string, FlagValue> {
  return { ...without(flags, (f) => STRATEGY_FLAGS.has(f)), 'max-insertions': 0 };
}

/** The options of a cell's random control: its own with `selector random` and no selector options. */
export function randomFlags(flags: Readonly<Record<string, FlagValue>>): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  let placed = false;
  for (const [flag, value] of Object.entries(flags)) {
    if (flag === 'selector-option') continue;
    if (flag === 'selector') {
      out[flag] = 'random';
      placed = true;
    } else out[flag] = value;
  }
  if (!placed) out['selector'] = 'random';
  return out;
}

/** What identifies a no-insertion cell: its options besides the strategy ones. */
const noInsertionKey = (flags: Readonly<Record<string, FlagValue>>): string => canonicalJson(noInsertionFlags(flags));
/** What identifies a random cell: its options besides the selector's own (a seed). */
const randomKey = (flags: Readonly<Record<string, FlagValue>>): string => canonicalJson(without(flags, (f) => f === 'selector-option'));
const isRandom = (flags: Readonly<Record<string, FlagValue>>): boolean => flags['selector'] === 'random';

/** A cell's no-insertion control among `cells` (a grid cell or an added one), if any. */
export function findNoInsertionControl<C extends { readonly flags: Readonly<Record<string, FlagValue>> }>(cell: C, cells: readonly C[]): C | undefined {
  if (insertsNothing(cell.flags)) return undefined;
  const key = noInsertionKey(cell.flags);
  return cells.find((c) => insertsNothing(c.flags) && noInsertionKey(c.flags) === key);
}

/** A cell's random-selector control at the same k among `cells`, if any. */
export function findRandomControl<C extends { readonly flags: Readonly<Record<string, FlagValue>> }>(cell: C, cells: readonly C[]): C | undefined {
  if (insertsNothing(cell.flags) || isRandom(cell.flags)) return undefined;
  const key = randomKey(randomFlags(cell.flags));
  return cells.find((c) => !insertsNothing(c.flags) && isRandom(c.flags) && randomKey(c.flags) === key);
}

/** A value as a folder-name part: `ads`, `16`, `info-gain+rounds=2`. */
function valueText(value: AxisValue): string {
  if (typeof value === 'object') return [value.name, ...optionPairs(value.options)].join('+');
  return String(value);
}

/** 32-bit FNV-1a of a text, as 8 hex digits (short, stable folder-name suffixes). */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

const MAX_FOLDER = 100;

/** A folder name from its parts: safe on every file system (letters, digits, `.`, `_`, `-`, `+`, `=`), at most 100 characters. */
export function folderName(parts: readonly string[], identity: string): string {
  let name = parts.join('_').replace(/[^A-Za-z0-9._=+-]+/g, '-').replace(/^[.-]+/, '') || 'run';
  if (name.length > MAX_FOLDER) name = `${name.slice(0, MAX_FOLDER - 9)}-${fnv1a(identity)}`;
  return name;
}

/**
 * Expand a sweep into its cells: every combination of the grid's values (the first axis varies
 * slowest), then the controls: for each cell that inserts patches, the same options with no
 * insertion (`max-insertions 0`, strategy options dropped, one per combination of the other
 * options) and the random selector at the same k (selector options dropped), unless the grid
 * already has them. `base` holds the options every cell starts from (dataset, data, split, limit,
 * model as the command resolved them). Folder names are `axis-value` parts joined with `_`
 * (`method-icot_selector-ads_k-16`), `no-insertion_...` and `selector-random_...` for controls;
 * names that would clash get a hash of the options.
 */
export function planSweep(spec: SweepSpec, base: Readonly<Record<string, FlagValue>>, name: string): SweepPlan {
  const axes = spec.grid.map((g) => g.axis);
  let combinations: Record<string, AxisValue>[] = [{}];
  for (const { axis, values } of spec.grid) combinations = combinations.flatMap((combo) => values.map((value) => ({ ...combo, [axis]: value })));
  const start = { ...base, ...spec.options };
  const cells: { role: CellRole; axes: Record<string, AxisValue>; flags: Record<string, FlagValue>; parts: string[] }[] = [];
  const seen = new Set<string>();
  for (const combo of combinations) {
    const flags: Record<string, FlagValue> = { ...start };
    for (const axis of axes) Object.assign(flags, axisFlags(axis, combo[axis]!));
    const key = canonicalJson(flags);
    if (seen.has(key)) continue;
    seen.add(key);
    cells.push({ role: 'grid', axes: combo, flags, parts: axes.length ? axes.map((a) => `${a}-${valueText(combo[a]!)}`) : ['run'] });
  }
  const grid = [...cells];
  if (spec.controls.noInsertion)
    for (const cell of grid) {
      if (insertsNothing(cell.flags) || findNoInsertionControl(cell, cells)) continue;
      const kept = Object.fromEntries(Object.entries(cell.axes).filter(([axis]) => !STRATEGY_FLAGS.has(axis)));
      cells.push({ role: 'no-insertion', axes: kept, flags: noInsertionFlags(cell.flags), parts: ['no-insertion', ...Object.entries(kept).map(([a, v]) => `${a}-${valueText(v)}`)] });
    }
  if (spec.controls.random)
    for (const cell of grid) {
      if (insertsNothing(cell.flags) || isRandom(cell.flags) || findRandomControl(cell, cells)) continue;
      const kept: Record<string, AxisValue> = { ...cell.axes };
      const parts = axes.map((a) => `${a}-${a === 'selector' ? 'random' : valueText(cell.axes[a]!)}`);
      if ('selector' in kept) kept['selector'] = 'random';
      else parts.unshift('selector-random');
      cells.push({ role: 'random', axes: kept, flags: randomFlags(cell.flags), parts });
    }
  const names = cells.map((c) => folderName(c.parts, canonicalJson(c.flags)));
  const planned = cells.map((cell, i) => {
    const clash = names.filter((n) => n === names[i]).length > 1;
    const folder = clash ? folderName([...cell.parts, fnv1a(canonicalJson(cell.flags))], canonicalJson(cell.flags)) : names[i]!;
    return { folder, role: cell.role, axes: cell.axes, flags: cell.flags, args: flagArgs(cell.flags) };
  });
  return { name, dataset: spec.dataset, axes, cells: planned };
}

/** What a cell's folder holds, as the command found it. */
export interface CellFolderState {
  /** The options the sweep recorded in the folder when it started the cell (`cell.json`), or null. */
  readonly recorded: Readonly<Record<string, FlagValue>> | null;
  /** Whether the folder holds a run file (the run started). */
  readonly started: boolean;
  /** Whether every sample of the run has a line. */
  readonly complete: boolean;
}

/** What the sweep does with a cell. */
export interface CellDecision {
  readonly action: 'run' | 'resume' | 'skip';
  readonly reason: string;
}

/** Options compared when a sweep meets a folder it started before (`data` may be another path to the same folder). */
const comparedFlags = (flags: Readonly<Record<string, FlagValue>>): string => canonicalJson(without(flags, (f) => f === 'data'));

/**
 * Decide what to do with a cell's folder: `run` when nothing ran there yet, `skip` when its run is
 * complete, `resume` when it is not (`icot eval run` resumes it). A folder whose recorded options
 * differ from the cell's, or that holds a run the sweep did not start, is an
 * {@link OptionError}: the sweep would mix two configurations.
 */
export function decideCell(cell: SweepCell, state: CellFolderState): CellDecision {
  if (state.recorded && comparedFlags(state.recorded) !== comparedFlags(cell.flags)) {
    const a = state.recorded;
    const b = cell.flags;
    const differing = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => f !== 'data' && canonicalJson(a[f] ?? null) !== canonicalJson(b[f] ?? null));
    throw new OptionError(`The folder ${cell.folder} holds a run of other options (${differing.map((f) => `--${f}`).join(', ')} differ${differing.length === 1 ? 's' : ''}).`, {
      hint: 'The sweep file changed since that run: give the sweep another --out folder, or move that run folder away.',
    });
  }
  if (!state.recorded && state.started)
    throw new OptionError(`The folder ${cell.folder} holds a run the sweep did not start (no cell.json).`, { hint: 'Give the sweep another --out folder, or move that run folder away.' });
  if (!state.started) return { action: 'run', reason: 'not started' };
  if (state.complete) return { action: 'skip', reason: 'complete' };
  return { action: 'resume', reason: 'partial' };
}
