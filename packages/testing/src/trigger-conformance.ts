import { describe, expect, it } from 'vitest';
import {
  CapabilityError,
  createRandom,
  generateICoT,
  type StepSignals,
  type TriggerContext,
  type TriggerRun,
  type TriggerSignalRequest,
  type TriggerV2,
} from '@icot/core';
import { createTestImage, createToyModel, MockDecoder, MockSelector } from '@icot/core/test';

/** What a trigger declares to the conformance suite. */
export interface TriggerConformanceCapabilities {
  /**
   * The per-step signals the trigger reads (must equal its `signals`; absent: none). The suite
   * checks that a run gives it exactly these signals, with values in range, and - when it reads
   * `imageAttention` - that a model without per-layer attention is refused before anything runs
   * (`CapabilityError`); otherwise that such a model runs it.
   */
  readonly signals?: TriggerSignalRequest;
}

/** Token texts the scripted contexts draw from: line breaks, sentence ends, words, spaces. */
const SCRIPT_TEXTS = ['\n', '.\n', '\n\n', '.', ' the', ' red', ' square', ',', ' is', ' left', '!', ' ', 'a', '?', ' blue'];

/** A reproducible script of trigger contexts, with the requested signals filled in. */
function scriptedContexts(signals: TriggerSignalRequest | undefined, length: number, seed: number): TriggerContext[] {
  const random = createRandom(seed);
  const contexts: TriggerContext[] = [];
  let insertions = 0;
  for (let step = 0; step < length; step++) {
    const token = random.int(SCRIPT_TEXTS.length);
    const values: { imageAttention?: number; probabilityGap?: number } = {};
    if (signals?.imageAttention) values.imageAttention = random.next();
    if (signals?.probabilityGap) values.probabilityGap = random.next();
    contexts.push({ step, token, tokenText: SCRIPT_TEXTS[token]!, insertions, signals: values });
    if (step % 17 === 16) insertions += 1; // as a loop would count them
  }
  return contexts;
}

/** The decisions of one fresh run of `trigger` over `contexts`. */
function decide(trigger: TriggerV2, contexts: readonly TriggerContext[]): unknown[] {
  const run = trigger.start();
  return contexts.map((context) => run.onToken(context));
}

/** Whether `layers` is a valid {@link TriggerSignalRequest} layer selection. */
function validLayers(layers: unknown): boolean {
  if (layers === 'all') return true;
  if (Array.isArray(layers)) return layers.length > 0 && layers.every((l) => Number.isInteger(l) && l >= 0);
  const last = (layers as { last?: unknown } | null)?.last;
  return typeof last === 'number' && Number.isInteger(last) && last >= 1;
}

/** A trigger that records what `inner` was given and answered, run after run. */
function recording(inner: TriggerV2): { trigger: TriggerV2; seen: { context: TriggerContext; fired: boolean }[] } {
  const seen: { context: TriggerContext; fired: boolean }[] = [];
  const trigger: TriggerV2 = {
    specificationVersion: 'v2',
    name: inner.name,
    ...(inner.signals ? { signals: inner.signals } : {}),
    start(): TriggerRun {
      const run = inner.start();
      return {
        onToken(context) {
          const fired = run.onToken(context);
          seen.push({ context, fired });
          return fired;
        },
      };
    },
  };
  return { trigger, seen };
}

/** A run of the ICoT loop on a toy model with `trigger` (insertions need no attention; the budget never runs out). */
async function toyRun(trigger: TriggerV2, modelSettings: { layerAttention?: boolean; attention?: boolean } = {}, maxNewTokens = 96) {
  const model = createToyModel({ grid: { rows: 4, cols: 4 }, ...modelSettings });
  const image = await model.encodeImage(createTestImage(40, 40));
  const result = await generateICoT({
    model,
    prompt: { text: 'describe <image> step by step.\n', images: [image] },
    selector: new MockSelector({ requires: { attention: false } }),
    decoder: new MockDecoder(),
    trigger,
    k: 2,
    maxInsertions: maxNewTokens,
    maxNewTokens,
    sampling: { temperature: 1, seed: 5 },
  });
  return { model, result };
}

/**
 * Behavioural conformance suite of {@link TriggerV2}: it declares what it reads, answers every
 * token with a boolean, decides the same way on the same tokens, keeps its state per run (two
 * runs never share a count), and drives the ICoT loop: a real run on a toy model gives it every
 * generated token with exactly the signals it declared, and inserts exactly where it fired.
 */
export function describeTriggerConformance(name: string, create: () => TriggerV2, capabilities: TriggerConformanceCapabilities): void {
  const declared = capabilities.signals;
  describe(`TriggerV2 conformance: ${name}`, () => {
    it('declares itself: specification v2, a name, and the signals it reads', () => {
      const trigger = create();
      expect(trigger.specificationVersion).toBe('v2');
      expect(typeof trigger.name).toBe('string');
      expect(trigger.name.length).toBeGreaterThan(0);
      expect(trigger.signals ?? {}).toEqual(declared ?? {});
      if (declared?.imageAttention) expect(validLayers(declared.imageAttention.layers), 'imageAttention.layers: all, a list of layer indices or { last: n >= 1 }').toBe(true);
    });

    it('answers every token with a boolean, and the same way on the same tokens', () => {
      const contexts = scriptedContexts(declared, 300, 3);
      const first = decide(create(), contexts);
      for (const decision of first) expect(typeof decision).toBe('boolean');
      expect(decide(create(), contexts)).toEqual(first);
      // a second run of the same trigger object starts from scratch
      const trigger = create();
      decide(trigger, scriptedContexts(declared, 57, 4));
      expect(decide(trigger, contexts)).toEqual(first);
    });

    it('keeps its state per run: two runs fed in turns decide as each would alone', () => {
      const a = scriptedContexts(declared, 200, 5);
      const b = scriptedContexts(declared, 200, 6);
      const alone = [decide(create(), a), decide(create(), b)];
      const trigger = create();
      const runs = [trigger.start(), trigger.start()];
      const together: unknown[][] = [[], []];
      for (let i = 0; i < 200; i++) {
        together[0]!.push(runs[0]!.onToken(a[i]!));
        together[1]!.push(runs[1]!.onToken(b[i]!));
      }
      expect(together).toEqual(alone);
    });

    it('drives the loop: every generated token with the declared signals, an insertion exactly where it fires', async () => {
      const { trigger, seen } = recording(create());
      const { model, result } = await toyRun(trigger);
      // the loop asks about every generated token but a final one (end of sequence, or the last allowed)
      expect(seen.map((s) => s.context.step)).toEqual(Array.from({ length: result.tokens.length - 1 }, (_, i) => i));
      const generated = result.insertions.filter((i) => i.step >= 0);
      let before = result.insertions.length - generated.length;
      for (const { context, fired } of seen) {
        expect(context.token).toBe(result.tokens[context.step]);
        expect(context.tokenText).toBe(model.tokenizer.decode([context.token]));
        expect(context.insertions).toBe(before);
        if (fired) before += 1;
        expectSignals(context.signals, declared);
      }
      expect(generated.map((i) => i.step)).toEqual(seen.filter((s) => s.fired).map((s) => s.context.step));
    });

    if (declared?.imageAttention)
      it('is refused before the run on a model without per-layer attention (CapabilityError)', async () => {
        const { trigger, seen } = recording(create());
        const failure = await toyRun(trigger, { layerAttention: false }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(CapabilityError);
        expect((failure as CapabilityError).capability).toBe('layerAttention');
        expect(seen).toHaveLength(0);
      });
    else
      it('runs on a model without attention (it reads none)', async () => {
        const { trigger, seen } = recording(create());
        const { result } = await toyRun(trigger, { attention: false, layerAttention: false }, 24);
        expect(seen).toHaveLength(result.tokens.length - 1);
        for (const { context } of seen) expect(context.signals.imageAttention).toBeUndefined();
      });
  });
}

/** The signals of one context: exactly the declared ones (the suite's decoder feeds every block, so every pass has attention), in range. */
function expectSignals(signals: StepSignals, declared: TriggerSignalRequest | undefined): void {
  const allowed = new Set<string>([...(declared?.imageAttention ? ['imageAttention'] : []), ...(declared?.probabilityGap ? ['probabilityGap'] : [])]);
  for (const key of Object.keys(signals)) expect(allowed.has(key), `signal '${key}' was not asked for`).toBe(true);
  if (declared?.probabilityGap) {
    expect(typeof signals.probabilityGap).toBe('number');
    expect(signals.probabilityGap).toBeGreaterThanOrEqual(0);
    expect(signals.probabilityGap).toBeLessThanOrEqual(1);
  }
  if (declared?.imageAttention) {
    expect(typeof signals.imageAttention).toBe('number');
    expect(signals.imageAttention).toBeGreaterThanOrEqual(0);
    expect(signals.imageAttention).toBeLessThanOrEqual(1 + 1e-5);
  }
}
