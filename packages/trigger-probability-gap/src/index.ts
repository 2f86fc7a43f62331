/**
 * DaP-ICoT's probability-gap trigger for ICoT: insert at a sentence end when the model was unsure
 * over the sentence (mean top-1 minus top-2 probability below a threshold).
 * @module
 */
export {
  createProbabilityGapTrigger,
  endsSentence,
  PROBABILITY_GAP_DEFAULTS,
  type ProbabilityGapTriggerOptions,
  type SentenceEnd,
} from './probability-gap-trigger.js';
export { PROBABILITY_GAP_DEMO_SETTINGS } from './demo-settings.js';
