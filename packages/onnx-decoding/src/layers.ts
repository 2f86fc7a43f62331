import { OptionError } from '@icot/core';

/** Which decoder layers the attention row averages: all (the paper's), a list, or the last N. */
export type AttentionLayerSetting = 'all' | readonly number[] | { readonly last: number };

/** Resolve an {@link AttentionLayerSetting} to layer indices; throws {@link OptionError} for bad ones. */
export function resolveAttentionLayers(setting: AttentionLayerSetting | undefined, count: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (setting === undefined || setting === 'all') return all;
  if ('last' in setting) {
    if (!Number.isInteger(setting.last) || setting.last < 1 || setting.last > count)
      throw new OptionError(`attentionLayers.last must be in 1..${count}, got ${setting.last}.`);
    return all.slice(count - setting.last);
  }
  const list = [...setting];
  if (!list.length) throw new OptionError('attentionLayers is an empty list.', { hint: "Use 'all' or at least one layer index." });
  for (const l of list)
    if (!Number.isInteger(l) || l < 0 || l >= count) throw new OptionError(`Attention layer ${l} does not exist; the decoder has layers 0..${count - 1}.`);
  return list;
}

