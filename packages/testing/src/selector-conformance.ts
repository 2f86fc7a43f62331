import { describe, expect, it } from 'vitest';
import { createRandom, type EncodedImage, type PatchSelectorV1, type SelectionRequest } from '@icot/core';

/** What a selector declares to the conformance suite. */
export interface SelectorConformanceCapabilities {
  /** The selector reads `scores`. */
  readonly requiresAttention: boolean;
}

function gridImage(rows: number, cols: number): EncodedImage {
  return {
    grid: { rows, cols },
    patchCount: rows * cols,
    size: { width: cols * 10, height: rows * 10 },
    patchBox: (i) => ({ x: (i % cols) * 10, y: Math.floor(i / cols) * 10, width: 10, height: 10 }),
  };
}

function scoresFor(n: number, seed: number): Float32Array {
  const random = createRandom(seed);
  const s = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += s[i] = random.next();
  for (let i = 0; i < n; i++) s[i]! /= total;
  return s;
}

/**
 * Behavioural conformance suite of {@link PatchSelectorV1}: valid, bounded, exclusion-respecting
 * and reproducible selections.
 */
export function describeSelectorConformance(name: string, create: () => PatchSelectorV1, capabilities: SelectorConformanceCapabilities): void {
  describe(`PatchSelectorV1 conformance: ${name}`, () => {
    const request = (over: Partial<SelectionRequest> = {}): SelectionRequest => {
      const image = over.image ?? gridImage(6, 8);
      return {
        image,
        k: 5,
        exclude: new Set(),
        step: 3,
        stepText: 'The red square is in the top left corner.\n',
        random: createRandom(7),
        ...(capabilities.requiresAttention ? { scores: scoresFor(image.patchCount, 11) } : {}),
        ...over,
      };
    };

    it('declares the v1 specification', () => {
      const selector = create();
      expect(selector.specificationVersion).toBe('v1');
      expect(selector.requiresAttention).toBe(capabilities.requiresAttention);
      expect(selector.name).toBeTruthy();
    });

    it('returns k distinct patch indices in ascending order inside the image', async () => {
      const { indices } = await create().select(request());
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
      const { indices } = await create().select(request({ exclude }));
      expect(indices.length).toBeGreaterThan(0);
      for (const i of indices) expect(exclude.has(i)).toBe(false);
    });

    it('returns every patch when k equals the patch count', async () => {
      const image = gridImage(2, 3);
      const { indices } = await create().select(request({ image, k: 6, ...(capabilities.requiresAttention ? { scores: scoresFor(6, 3) } : {}) }));
      expect(indices).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('returns what is left when fewer than k patches remain', async () => {
      const image = gridImage(2, 3);
      const { indices } = await create().select(
        request({ image, k: 4, exclude: new Set([0, 2, 3, 5]), ...(capabilities.requiresAttention ? { scores: scoresFor(6, 3) } : {}) }),
      );
      expect(indices).toEqual([1, 4]);
    });

    it("selects from Chameleon-sized grids (32 x 32 = 1,024 patches, k = 64, the paper's setting)", async () => {
      const image = gridImage(32, 32);
      const exclude = new Set(Array.from({ length: 100 }, (_, i) => i * 7));
      const { indices } = await create().select(request({ image, k: 64, exclude, ...(capabilities.requiresAttention ? { scores: scoresFor(1024, 5) } : {}) }));
      expect(indices).toHaveLength(64);
      for (let i = 0; i < indices.length; i++) {
        expect(exclude.has(indices[i]!)).toBe(false);
        expect(indices[i]).toBeLessThan(1024);
        if (i > 0) expect(indices[i]).toBeGreaterThan(indices[i - 1]!);
      }
    });

    it('is reproducible for the same inputs and seed', async () => {
      const a = await create().select(request({ random: createRandom(5) }));
      const b = await create().select(request({ random: createRandom(5) }));
      expect(a.indices).toEqual(b.indices);
    });
  });
}
