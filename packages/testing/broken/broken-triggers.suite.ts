// Deliberately broken triggers, each breaking one promise of the trigger spec. Run by
// src/suites-catch-breakage.test.ts: the conformance suite must fail exactly the tests of the
// broken promise.
import { createSignalTrigger, type TriggerV2 } from '@icot/core';
import { describeTriggerConformance } from '../src/trigger-conformance.js';

// counts signal tokens in one counter shared by every run of the trigger
{
  let count = 0;
  const shared: TriggerV2 = {
    specificationVersion: 'v2',
    name: 'shared-count',
    start: () => ({ onToken: ({ tokenText }) => tokenText.includes('\n') && ++count % 2 === 0 }),
  };
  describeTriggerConformance('broken: runs share one count', () => shared, {});
}
// answers with a number instead of a boolean
{
  const newline = createSignalTrigger({ signal: 'newline', every: 2 });
  const numeric: TriggerV2 = {
    specificationVersion: 'v2',
    name: 'numeric',
    start() {
      const run = newline.start();
      return { onToken: (context) => (run.onToken(context) ? 1 : 0) as unknown as boolean };
    },
  };
  describeTriggerConformance('broken: answers with numbers', () => numeric, {});
}
// reads the probability gap without declaring it (so a run never gives it one)
{
  const undeclared: TriggerV2 = {
    specificationVersion: 'v2',
    name: 'undeclared-gap',
    start: () => ({ onToken: ({ signals }) => (signals.probabilityGap ?? 1) < 0.5 }),
  };
  describeTriggerConformance('broken: reads a signal it does not declare', () => undeclared, { signals: { probabilityGap: true } });
}
