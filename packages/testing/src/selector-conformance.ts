import { describe, expect, it } from 'vitest';
import {
  createRandom,
  gatherPositions,
  IcotError,
  type DecodingSessionV2,
  type PatchSelectorV2,
  type SelectionRequest,
  type SelectorRequirements,
  type SideRunContext,
} from '@icot/core';
import { createTestImage, createToyModel } from '@icot/core/test';

/** What a selector declares to the conformance suite. */
export interface SelectorConformanceCapabilities {
  /**
   * What the selector requires (must equal its `requires`). The suite gives it exactly that part
   * of the selection context - attention scores, pixels, side runs (forks, batched side runs) on a
   * real toy model - and nothing it did not declare; it checks that a declared part missing from
   * a request fails with an `IcotError`, and that side runs leave the decoding state unchanged.
   */
  readonly requires: SelectorRequirements;
}

function scoresFor(n: number, seed: number): Float32Array {
  const random = createRandom(seed);
  const s = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += s[i] = random.next();
  for (let i = 0; i < n; i++) s[i]! /= total;
  return s;
}

/** A selection context on a toy model whose images have a `rows x cols` patch grid: a prefilled session and everything a request can carry. */
async function toyContext(rows: number, cols: number) {
  const model = createToyModel({ grid: { rows, cols } });
  const image = await model.encodeImage(createTestImage(cols * 10, rows * 10));
  const prompt = await model.preparePrompt({ text: 'look at <image> and think.\n', images: [image] });
  const session = model.createSession();
  const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
  const cacheIndices = prompt.images[0]!.cacheIndices;
  const forks: DecodingSessionV2[] = [];
  const sideRuns: SideRunContext = {
    model,
    position: prompt.nextPosition,
    logits: first.logits,
    imagePositions: gatherPositions(prompt.positions, cacheIndices),
    fork: () => {
      const fork = session.fork!();
      forks.push(fork);
      return fork;
    },
    sideRuns: (inputs) => session.sideRuns!(inputs),
  };
  return { model, image, cacheIndices, session, sideRuns, forks, nextPosition: prompt.nextPosition };
}

/**
 * Behavioural conformance suite of {@link PatchSelectorV2}: valid, bounded, exclusion-respecting
 * and reproducible selections, from exactly the context the selector declares it requires.
 */
export function describeSelectorConformance(name: string, create: () => PatchSelectorV2, capabilities: SelectorConformanceCapabilities): void {
  const needs = capabilities.requires;
  const sideRunsNeeded = needs.fork === true || needs.batchedSideRuns === true;
  describe(`PatchSelectorV2 conformance: ${name}`, () => {
    /** A request over a `rows x cols` toy image with what the selector declares (and `over` on top). */
    const request = async (rows: number, cols: number, over: Partial<SelectionRequest> = {}, scoreSeed = 11) => {
      const context = await toyContext(rows, cols);
      const { image } = context;
      const built: SelectionRequest = {
        image,
        cacheIndices: context.cacheIndices,
        k: 5,
        exclude: new Set(),
        step: 3,
        stepText: 'The red square is in the top left corner.\n',
        random: createRandom(7),
        ...(needs.attention ? { scores: scoresFor(image.patchCount, scoreSeed) } : {}),
        ...(needs.pixels ? { pixels: image.pixels! } : {}),
        ...(sideRunsNeeded ? { sideRuns: context.sideRuns } : {}),
        ...over,
      };
      return { request: built, context };
    };
    const select = async (rows: number, cols: number, over: Partial<SelectionRequest> = {}, scoreSeed = 11) => {
      const { request: built, context } = await request(rows, cols, over, scoreSeed);
      try {
        return await create().select(built);
      } finally {
        for (const fork of context.forks) fork.dispose();
        context.session.dispose();
      }
    };

    it('declares the v2 specification and its requirements', () => {
      const selector = create();
      expect(selector.specificationVersion).toBe('v2');
      expect({ pixels: false, fork: false, batchedSideRuns: false, ...selector.requires }).toEqual({ pixels: false, fork: false, batchedSideRuns: false, ...needs });
      expect(selector.name).toBeTruthy();
    });

    it('returns k distinct patch indices in ascending order inside the image', async () => {
      const { indices } = await select(6, 8);
      expect(indices).toHaveLength(5);
      for (let i = 0; i < indices.length; i++) {
        expect(Number.isInteger(indices[i])).toBe(true);
        expect(indices[i]).toBeGreaterThanOrEqual(0);
        expect(indices[i]).toBeLessThan(48);
        if (i > 0) expect(indices[i]).toBeGreaterThan(indices[i - 1]!);
      }
    });

    it('never returns excluded patches', async () => {
      const exclude = new Set(Array.from({ length: 40 }, (_, i) => i));
      const { indices } = await select(6, 8, { exclude });
      expect(indices.length).toBeGreaterThan(0);
      for (const i of indices) expect(exclude.has(i)).toBe(false);
    });

    it('returns every patch when k equals the patch count', async () => {
      const { indices } = await select(2, 3, { k: 6 }, 3);
      expect(indices).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('returns what is left when fewer than k patches remain', async () => {
      const { indices } = await select(2, 3, { k: 4, exclude: new Set([0, 2, 3, 5]) }, 3);
      expect(indices).toEqual([1, 4]);
    });

    it("selects from Chameleon-sized grids (32 x 32 = 1,024 patches, k = 64, the paper's setting)", async () => {
      const exclude = new Set(Array.from({ length: 100 }, (_, i) => i * 7));
      const { indices } = await select(32, 32, { k: 64, exclude }, 5);
      expect(indices).toHaveLength(64);
      for (let i = 0; i < indices.length; i++) {
        expect(exclude.has(indices[i]!)).toBe(false);
        expect(indices[i]).toBeLessThan(1024);
        if (i > 0) expect(indices[i]).toBeGreaterThan(indices[i - 1]!);
      }
    });

    it('is reproducible for the same inputs and seed', async () => {
      const a = await select(6, 8, { random: createRandom(5) });
      const b = await select(6, 8, { random: createRandom(5) });
      expect(a.indices).toEqual(b.indices);
    });

    const declared = [
      ['scores', needs.attention],
      ['pixels', needs.pixels === true],
      ['sideRuns', sideRunsNeeded],
    ] as const;
    for (const [part, needed] of declared)
      if (needed)
        it(`fails with an IcotError when the request lacks the ${part} it requires`, async () => {
          const { request: built, context } = await request(6, 8);
          const { [part]: _dropped, ...rest } = built;
          const error = await Promise.resolve()
            .then(() => create().select(rest as SelectionRequest))
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          context.session.dispose();
          expect(IcotError.is(error)).toBe(true);
        });

    if (sideRunsNeeded)
      it('leaves the decoding state unchanged: side runs never touch the main cache', async () => {
        const { request: built, context } = await request(6, 8);
        const before = context.session.length;
        await create().select(built);
        expect(context.session.length).toBe(before);
        const next = await context.session.step({ segments: [{ type: 'tokens', ids: [0] }], positions: context.model.family.textPositions(context.nextPosition, 1) });
        // a fresh context (same model, image and prompt) continues with the same logits
        const fresh = await toyContext(6, 8);
        const expected = await fresh.session.step({ segments: [{ type: 'tokens', ids: [0] }], positions: fresh.model.family.textPositions(fresh.nextPosition, 1) });
        expect(Array.from(next.logits)).toEqual(Array.from(expected.logits));
        for (const fork of [...context.forks, ...fresh.forks]) fork.dispose();
        context.session.dispose();
        fresh.session.dispose();
      });
  });
}
