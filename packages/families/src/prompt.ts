import type { ChatMessage, ModelFamilyV1, PreparedPrompt, PromptInput, TokenizerV1 } from '@icot/core';

/**
 * Prepare a prompt the way every backend does: format chat messages with the model's template,
 * tokenize, let the family expand image placeholders into image segments, and compute positions.
 */
export function preparePromptWithFamily(
  family: ModelFamilyV1,
  tokenizer: TokenizerV1,
  applyChatTemplate: (messages: readonly ChatMessage[]) => string,
  input: PromptInput,
): PreparedPrompt {
  const text = 'text' in input ? input.text : applyChatTemplate(input.messages);
  const expanded = family.expandPrompt(tokenizer.encode(text), input.images);
  const { positions, nextPosition } = family.promptPositions(expanded.segments);
  return { ...expanded, positions, nextPosition, length: positions.length };
}
