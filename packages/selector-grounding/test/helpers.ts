import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gatherPositions, type DecodingSessionV2, type EncodedImage, type PatchSelectorV2, type PromptInput, type SideRunContext, type VisionLanguageModelV2 } from '@icot/core';

/**
 * Add special tokens to a generated model's tokenizer files at ids `firstId, firstId + 1, ...`
 * (ids the generated decoders have rows for: their vocabulary is the tokenizer's plus 16).
 */
export async function addSpecialTokens(dir: string, tokens: readonly string[], firstId: number): Promise<Record<string, number>> {
  const tokenizerPath = join(dir, 'tokenizer.json');
  const configPath = join(dir, 'tokenizer_config.json');
  const tokenizer = JSON.parse(await readFile(tokenizerPath, 'utf8')) as { added_tokens: Record<string, unknown>[] };
  const config = JSON.parse(await readFile(configPath, 'utf8')) as { added_tokens_decoder: Record<string, unknown> };
  const ids: Record<string, number> = {};
  tokens.forEach((content, i) => {
    const token = { id: firstId + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
    tokenizer.added_tokens.push(token);
    config.added_tokens_decoder[String(token.id)] = { ...token, id: undefined };
    ids[content] = token.id;
  });
  await writeFile(tokenizerPath, JSON.stringify(tokenizer));
  await writeFile(configPath, JSON.stringify(config));
  return ids;
}

/**
 * A selection point on a real model: the prompt prefilled, `signal` fed as the first generated
 * token, the attention row read, and the side-run context the ICoT loop would give a selector.
 */
export async function selectionPoint(model: VisionLanguageModelV2, prompt: PromptInput, signal: number) {
  const prepared = await model.preparePrompt(prompt);
  const query = prepared.images.at(-1)!;
  const session = model.createSession();
  await session.step({ segments: prepared.segments, positions: prepared.positions });
  const out = await session.step({ segments: [{ type: 'tokens', ids: [signal] }], positions: model.family.textPositions(prepared.nextPosition, 1), attention: true });
  const position = prepared.nextPosition + 1;
  const forks: DecodingSessionV2[] = [];
  const sideRuns: SideRunContext = {
    model,
    position,
    logits: out.logits,
    imagePositions: gatherPositions(prepared.positions, query.cacheIndices),
    fork: () => {
      const fork = session.fork!();
      forks.push(fork);
      return fork;
    },
    sideRuns: (inputs) => session.sideRuns!(inputs),
  };
  const scores = Float32Array.from(query.cacheIndices, (i) => out.attention![i]!);
  const image: EncodedImage = query.image;
  const dispose = (): void => {
    for (const fork of forks) fork.dispose();
    session.dispose();
  };
  return { session, sideRuns, scores, image, cacheIndices: query.cacheIndices, position, forks, dispose };
}

/** A selector that picks the given patches at each insertion in turn (to replay a run's choices without side runs). */
export function replaySelector(choices: readonly (readonly number[])[]): PatchSelectorV2 {
  let next = 0;
  return {
    specificationVersion: 'v2',
    name: 'replay',
    requires: { attention: false },
    select: () => ({ indices: [...choices[next++]!] }),
  };
}
