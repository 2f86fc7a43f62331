import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AttentionUnavailableError } from '@icot/core';
import { writeTinyQwen2Vl } from '@icot/testing';
import { loadTransformersModel } from '../src/index.js';

const root = await mkdtemp(join(tmpdir(), 'icot-tjs-edited-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('edited decoder copies', () => {
  it('are kept apart by their edits: an untapped load (logits edit only) never reuses a tapped copy, nor the other way round', async () => {
    const info = await writeTinyQwen2Vl(join(root, 'model'), { layers: 1, seed: 3 });
    const tappedCacheDir = join(root, 'cache');
    const step = async (tapAttention: boolean) => {
      const model = await loadTransformersModel(info.dir, { tappedCacheDir, tapAttention });
      expect(model.capabilities.attention).toBe(tapAttention);
      const session = model.createSession();
      const run = session.step({ segments: [{ type: 'tokens', ids: [1, 2, 3] }], positions: model.family.textPositions(0, 3), attention: true });
      if (tapAttention) expect((await run).attention).toHaveLength(3);
      else await expect(run).rejects.toBeInstanceOf(AttentionUnavailableError);
      session.dispose();
      await model.dispose();
    };
    await step(false);
    await step(true);
    await step(false);
  });
});
