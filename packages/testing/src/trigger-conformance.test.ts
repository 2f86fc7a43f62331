import { createSignalTrigger, type TriggerV2 } from '@icot/core';
import { describeTriggerConformance } from './trigger-conformance.js';

describeTriggerConformance('newline, every 2nd', () => createSignalTrigger({ signal: 'newline', every: 2 }), {});
describeTriggerConformance('signal ids 10 and 31', () => createSignalTrigger({ signal: { tokenIds: [10, 31] }, every: 1 }), {});

/** AIM-CoT-style: fire when the attention on the image rises by more than `delta` in one step. */
function attentionShift(delta: number): TriggerV2 {
  return {
    specificationVersion: 'v2',
    name: `attention-shift(${delta})`,
    signals: { imageAttention: { layers: { last: 1 } } },
    start() {
      let previous: number | undefined;
      return {
        onToken({ signals }) {
          const now = signals.imageAttention;
          const fire = now !== undefined && previous !== undefined && now - previous > delta;
          previous = now;
          return fire;
        },
      };
    },
  };
}
describeTriggerConformance('attention shift', () => attentionShift(0.01), { signals: { imageAttention: { layers: { last: 1 } } } });

/** DaP-ICoT-style: fire at a sentence end when the model was unsure (top-1 minus top-2 below a threshold). */
function unsureSentenceEnd(threshold: number): TriggerV2 {
  return {
    specificationVersion: 'v2',
    name: `unsure-sentence-end(${threshold})`,
    signals: { probabilityGap: true },
    start: () => ({ onToken: ({ tokenText, signals }) => /[.!?\n]/.test(tokenText) && (signals.probabilityGap ?? 1) < threshold }),
  };
}
describeTriggerConformance('probability gap', () => unsureSentenceEnd(0.5), { signals: { probabilityGap: true } });
