import { OptionError } from './errors.js';
import type { LayerSelection } from './spec/trigger.js';

/** Resolve a {@link LayerSelection} against a decoder of `count` layers; throws {@link OptionError} for bad ones. */
export function resolveLayerSelection(setting: LayerSelection | undefined, count: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (setting === undefined || setting === 'all') return all;
  if ('last' in setting) {
    if (!Number.isInteger(setting.last) || setting.last < 1 || setting.last > count)
      throw new OptionError(`attention layers: last must be in 1..${count}, got ${setting.last}.`, { hint: `The decoder has ${count} layers.` });
    return all.slice(count - setting.last);
  }
  const list = [...setting];
  if (!list.length) throw new OptionError('attention layers: the list is empty.', { hint: "Use 'all' or at least one layer index." });
  for (const l of list)
    if (!Number.isInteger(l) || l < 0 || l >= count) throw new OptionError(`Attention layer ${l} does not exist; the decoder has layers 0..${count - 1}.`);
  return list;
}
