/**
 * Information-gain patch selection (AIM-CoT's Active Visual Probing, arXiv 2509.25699): candidate
 * regions from attention and from uniform sampling, each probed in side runs for the drop in
 * next-token entropy its insertion gives, picked greedily.
 * @module
 */
export { createInfoGainSelector, InfoGainSelector, probeInformationGain, type InfoGainProbe, type ProbedCandidate, type ProbeRound } from './info-gain.js';
export { INFO_GAIN_DEFAULTS, regionSideFor, resolveInfoGainOptions, type InfoGainBatching, type InfoGainSelectorOptions, type ResolvedInfoGainOptions } from './options.js';
export { nextTokenEntropy } from './entropy.js';
export { gridRegions, type GridRegion } from './regions.js';
