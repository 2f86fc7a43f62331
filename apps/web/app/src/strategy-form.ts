import type { RunOptionsJson } from './events.js';

/** The strategy a form describes, in the page's own terms. */
export interface StrategySettings {
  selector: string;
  /** The selector's options as JSON text (empty: none). */
  selectorOptions: string;
  decoder: string;
  trigger: string;
  /** Signal trigger: `default` (the model's: the demo model's signal tokens, else a line break), `newline`, or `ids`. */
  signal: 'default' | 'newline' | 'ids';
  signalIds: string;
  every: number;
  /** Options of the attention-shift / probability-gap trigger as JSON text (empty: the demo settings on the demo model, else the paper's). */
  triggerOptions: string;
  /** Patches per insertion; empty: the family's. */
  k: string;
  maxInsertions: number;
}

/** The paper's strategy (ADS, input-end insertion, the signal trigger every 2nd time, 3 insertions). */
export const DEFAULT_STRATEGY: StrategySettings = {
  selector: 'ads',
  selectorOptions: '',
  decoder: 'input',
  trigger: 'signal',
  signal: 'default',
  signalIds: '',
  every: 2,
  triggerOptions: '',
  k: '',
  maxInsertions: 3,
};

/** Names the server offers (GET /api/config), or the runner's lists in browser mode. */
export interface StrategyNames {
  readonly selectors: readonly string[];
  readonly decoders: readonly string[];
  readonly triggers: readonly string[];
}

function parseJsonOption(text: string, what: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be a JSON object, e.g. {"rounds": 2}.`);
  return value as Record<string, unknown>;
}

/** The run options (RunDescription names) of a strategy. Throws Error with a message for the page on bad JSON or ids. */
export function strategyOptions(settings: StrategySettings): RunOptionsJson {
  const selectorOptions = parseJsonOption(settings.selectorOptions, 'Selector options');
  const options: RunOptionsJson = {
    selector: { name: settings.selector, ...(selectorOptions ? { options: selectorOptions } : {}) },
    decoder: { name: settings.decoder },
    maxInsertions: settings.maxInsertions,
  };
  if (settings.k.trim() !== '') options['k'] = Number(settings.k);
  if (settings.trigger === 'signal') {
    if (settings.signal === 'newline') options['trigger'] = { signal: 'newline', every: settings.every };
    else if (settings.signal === 'ids') {
      const ids = settings.signalIds.split(/[\s,]+/).filter(Boolean).map(Number);
      if (!ids.length || ids.some((id) => !Number.isInteger(id) || id < 0)) throw new Error('Signal token ids must be a comma-separated list of integers >= 0.');
      options['trigger'] = { signal: { tokenIds: ids }, every: settings.every };
    } else if (settings.every !== 2) throw new Error("'every' needs a signal (newline or token ids); the model's default signal fires every 2nd time.");
  } else {
    const triggerOptions = parseJsonOption(settings.triggerOptions, 'Trigger options');
    options['trigger'] = { name: settings.trigger, ...(triggerOptions ? { options: triggerOptions } : {}) };
  }
  return options;
}

/** A short label of a strategy for headings (e.g. `ads, input, signal, k 16`). */
export function strategyLabel(settings: StrategySettings): string {
  if (settings.maxInsertions === 0) return 'plain CoT (no insertions)';
  return [settings.selector, settings.decoder, settings.trigger, settings.k ? `k ${settings.k}` : ''].filter(Boolean).join(', ');
}

function select(name: string, label: string, values: readonly string[]): string {
  return `<label>${label} <select name="${name}">${values.map((v) => `<option value="${v}">${v}</option>`).join('')}</select></label>`;
}

/**
 * The strategy controls inside `fieldset` (selector and its options, decoder, trigger and its
 * settings, k, most insertions), filled with `initial`; returns the reader and writer of its values.
 */
export function strategyForm(fieldset: HTMLFieldSetElement, names: StrategyNames, initial: StrategySettings): { read(): StrategySettings; write(settings: StrategySettings): void } {
  const legend = fieldset.querySelector('legend')?.outerHTML ?? '';
  fieldset.innerHTML =
    legend +
    `<div class="row">${select('selector', 'Selector', names.selectors)}<label>Selector options <input name="selectorOptions" placeholder='JSON, e.g. {"rounds": 2}' /></label></div>` +
    `<div class="row">${select('decoder', 'Decoder', names.decoders)}${select('trigger', 'Trigger', names.triggers)}` +
    '<label>k <input name="k" type="number" min="1" placeholder="family\'s" /></label>' +
    '<label>Max insertions <input name="maxInsertions" type="number" min="0" /></label></div>' +
    '<div class="row signal-only"><label>Signal <select name="signal"><option value="default">model default</option><option value="newline">line break</option><option value="ids">token ids</option></select></label>' +
    '<label>Token ids <input name="signalIds" placeholder="e.g. 64" /></label><label>Every <input name="every" type="number" min="1" /></label></div>' +
    '<div class="row trigger-only"><label>Trigger options <input name="triggerOptions" placeholder="JSON; empty: demo settings on the demo model" /></label></div>';
  const field = <T extends HTMLInputElement | HTMLSelectElement>(name: string): T => fieldset.querySelector(`[name="${name}"]`) as T;
  const sync = (): void => {
    const signal = field<HTMLSelectElement>('trigger').value === 'signal';
    (fieldset.querySelector('.signal-only') as HTMLElement).hidden = !signal;
    (fieldset.querySelector('.trigger-only') as HTMLElement).hidden = signal;
    field<HTMLInputElement>('signalIds').disabled = field<HTMLSelectElement>('signal').value !== 'ids';
  };
  fieldset.addEventListener('change', sync);
  const write = (settings: StrategySettings): void => {
    for (const [key, value] of Object.entries(settings)) {
      const input = field<HTMLInputElement>(key);
      if (input) input.value = String(value);
    }
    sync();
  };
  write(initial);
  return {
    read: () => ({
      selector: field<HTMLSelectElement>('selector').value,
      selectorOptions: field<HTMLInputElement>('selectorOptions').value,
      decoder: field<HTMLSelectElement>('decoder').value,
      trigger: field<HTMLSelectElement>('trigger').value,
      signal: field<HTMLSelectElement>('signal').value as StrategySettings['signal'],
      signalIds: field<HTMLInputElement>('signalIds').value,
      every: Number(field<HTMLInputElement>('every').value || 2),
      triggerOptions: field<HTMLInputElement>('triggerOptions').value,
      k: field<HTMLInputElement>('k').value,
      maxInsertions: Number(field<HTMLInputElement>('maxInsertions').value || 0),
    }),
    write,
  };
}

/** The compare view's presets: two strategies that differ in one thing. */
export const PRESETS: Readonly<Record<string, readonly [StrategySettings, StrategySettings]>> = {
  'ads-random': [DEFAULT_STRATEGY, { ...DEFAULT_STRATEGY, selector: 'random' }],
  'icot-cot': [DEFAULT_STRATEGY, { ...DEFAULT_STRATEGY, maxInsertions: 0 }],
  'input-kv': [DEFAULT_STRATEGY, { ...DEFAULT_STRATEGY, decoder: 'kv-rebind' }],
};
