/**
 * The strategies the page can run in the browser, by the names `@icot/runner` gives them. The
 * grounding selector is left out: its detector grounder reads model folders through Node.
 */
export const BROWSER_STRATEGIES = {
  selectors: ['ads', 'random', 'segmentation', 'info-gain'],
  decoders: ['input', 'kv-copy', 'kv-rebind'],
  triggers: ['signal', 'attention-shift', 'probability-gap'],
} as const;
