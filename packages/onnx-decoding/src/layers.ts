import { resolveLayerSelection, type LayerSelection } from '@icot/core';

/** Which decoder layers the attention row averages: all (the paper's), a list, or the last N. */
export type AttentionLayerSetting = LayerSelection;

/** Resolve an {@link AttentionLayerSetting} to layer indices; throws `OptionError` for bad ones. */
export const resolveAttentionLayers: (setting: AttentionLayerSetting | undefined, count: number) => number[] = resolveLayerSelection;
