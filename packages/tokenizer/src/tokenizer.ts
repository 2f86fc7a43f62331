import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelConfigError, type ChatMessage, type TokenizerV1 } from '@icot/core';

/** Parsed contents of a model's tokenizer files. */
export interface TokenizerFiles {
  /** `tokenizer.json` */
  readonly tokenizer: Record<string, unknown>;
  /** `tokenizer_config.json` (chat template, special tokens) */
  readonly config: Record<string, unknown>;
  /** A chat template from `chat_template.jinja` / `chat_template.json`, when the config has none. */
  readonly chatTemplate?: string;
}

/** Options of {@link HfTokenizer.applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** Append the assistant turn header (default true). */
  readonly addGenerationPrompt?: boolean;
  /** Extra template variables. */
  readonly variables?: Record<string, unknown>;
}

function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

/**
 * A byte-level BPE / sentencepiece tokenizer loaded from `tokenizer.json` (through
 * `@huggingface/tokenizers`), with the model's Jinja chat template.
 */
export class HfTokenizer implements TokenizerV1 {
  private readonly inner: Tokenizer;
  private readonly config: Record<string, unknown>;
  private readonly template: Template | undefined;
  private readonly templateSource: string | undefined;

  constructor(files: TokenizerFiles) {
    this.inner = new Tokenizer(files.tokenizer, files.config);
    this.config = files.config;
    const fromConfig = files.config['chat_template'];
    let source = typeof fromConfig === 'string' ? fromConfig : undefined;
    if (Array.isArray(fromConfig)) {
      const named = fromConfig.find((t: { name?: string }) => t.name === 'default') as { template?: string } | undefined;
      source = named?.template;
    }
    this.templateSource = source ?? files.chatTemplate;
    this.template = this.templateSource ? new Template(this.templateSource) : undefined;
  }

  /** Whether the model ships a chat template. */
  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.inner.decode(ids as number[], { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** The vocabulary string of a token id. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /**
   * Render `messages` with the model's chat template. `imageText` is what an image part becomes
   * when the template has no image support (e.g. the family's placeholder).
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.template)
      throw new ModelConfigError('The tokenizer has no chat template (tokenizer_config.json has no chat_template).', {
        hint: 'Pass an already formatted prompt instead (--raw-prompt-file), or add a chat_template to tokenizer_config.json.',
      });
    return this.template.render({
      messages: messages.map((m) => ({
        role: m.role,
        content: typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'image' ? { type: 'image' } : { type: 'text', text: c.text })),
      })),
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: tokenContent(this.config['bos_token']) ?? '',
      eos_token: tokenContent(this.config['eos_token']) ?? '',
      pad_token: tokenContent(this.config['pad_token']) ?? '',
      unk_token: tokenContent(this.config['unk_token']) ?? '',
      ...options.variables,
    });
  }
}
