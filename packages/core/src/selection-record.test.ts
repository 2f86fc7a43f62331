import { describe, expect, it } from 'vitest';
import { generateICoT } from './generate.js';
import { createTestImage, createToyModel, MockDecoder, MockSelector, MockTrigger } from './test/index.js';

async function run(selector: MockSelector) {
  const model = createToyModel();
  const image = await model.encodeImage(createTestImage(32, 32));
  return generateICoT({ model, prompt: { text: 'look <image> and think.', images: [image] }, selector, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [2] }), k: 2, maxNewTokens: 6 });
}

describe('what a selector reports is recorded on the insertion', () => {
  it('the selector asked for, and nothing else when it chose plainly', async () => {
    const result = await run(new MockSelector({ name: 'plain' }));
    const [insertion] = result.insertions;
    expect(insertion!.selector).toBe('plain');
    expect(insertion).not.toHaveProperty('fallback');
    expect(insertion).not.toHaveProperty('regions');
  });

  it('a fallback with its reason, the variant, whole regions and grounded boxes', async () => {
    const selector = new MockSelector({
      name: 'grounding',
      select: () => ({
        indices: [0, 5],
        fallback: { selector: 'ads', reason: 'the answer held no box' },
        variant: 'self-grounding',
        regions: [[0], [5]],
        groundedBoxes: [{ x: 1, y: 2, width: 3, height: 4, text: 'the red square', score: 0.5 }],
      }),
    });
    const [insertion] = (await run(selector)).insertions;
    expect(insertion).toMatchObject({
      selector: 'grounding',
      selected: [0, 5],
      fallback: { selector: 'ads', reason: 'the answer held no box' },
      variant: 'self-grounding',
      regions: [[0], [5]],
      groundedBoxes: [{ x: 1, y: 2, width: 3, height: 4, text: 'the red square', score: 0.5 }],
    });
    // plain data: survives JSON (the runner's child process, --json)
    expect(JSON.parse(JSON.stringify(insertion))).toEqual({ ...insertion });
  });
});
