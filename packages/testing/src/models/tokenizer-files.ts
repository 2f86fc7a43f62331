/**
 * Tokenizer files for generated models: a byte-level BPE whose vocabulary is the 256 byte symbols
 * (GPT-2's byte-to-unicode map) plus a few merges of frequent pairs, and the family's special
 * tokens after them.
 */

function byteSymbols(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const symbols = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) symbols[b] = String.fromCharCode(printable.includes(b) ? b : 256 + extra++);
  return symbols;
}

/** Merges every generated tokenizer knows (so common words are single tokens). */
const WORDS = ['the', 'image', 'is', 'step', 'red', 'blue', 'square', 'circle', 'answer', 'think'];

/** What {@link tokenizerFiles} returns. */
export interface GeneratedTokenizer {
  readonly tokenizerJson: Record<string, unknown>;
  readonly tokenizerConfig: Record<string, unknown>;
  /** Id of each special token. */
  readonly specialIds: Readonly<Record<string, number>>;
  /** Ids that are regular (non-special) tokens. */
  readonly regularSize: number;
}

/** Build `tokenizer.json` and `tokenizer_config.json` contents. */
export function tokenizerFiles(specials: readonly string[], options: { chatTemplate: string; eosToken: string; padToken?: string; bosToken?: string | null }): GeneratedTokenizer {
  const symbols = byteSymbols();
  const vocab: Record<string, number> = {};
  symbols.forEach((s, i) => (vocab[s] = i));
  const merges: string[] = [];
  const enc = (text: string): string => Array.from(new TextEncoder().encode(text), (b) => symbols[b]!).join('');
  for (const word of WORDS) {
    const chars = [...enc(` ${word}`)];
    let current = chars[0]!;
    for (const c of chars.slice(1)) {
      const merged = current + c;
      if (!(merged in vocab)) {
        merges.push(`${current} ${c}`);
        vocab[merged] = Object.keys(vocab).length;
      }
      current = merged;
    }
  }
  const regularSize = Object.keys(vocab).length;
  const specialIds: Record<string, number> = {};
  specials.forEach((s, i) => (specialIds[s] = regularSize + i));
  const added = specials.map((content, i) => ({ id: regularSize + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true };
  return {
    tokenizerJson: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: null,
      decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
    },
    tokenizerConfig: {
      tokenizer_class: 'PreTrainedTokenizerFast',
      chat_template: options.chatTemplate,
      bos_token: options.bosToken ?? null,
      eos_token: options.eosToken,
      pad_token: options.padToken ?? options.eosToken,
      unk_token: null,
      model_max_length: 32768,
      clean_up_tokenization_spaces: false,
      added_tokens_decoder: Object.fromEntries(added.map((t) => [String(t.id), { ...t, id: undefined }])),
    },
    specialIds,
    regularSize,
  };
}

/** A ChatML chat template; image parts become `imageText`. */
export function chatMlTemplate(imageText: string): string {
  return (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}" +
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for content in message['content'] %}" +
    `{% if content['type'] == 'image' %}${imageText}{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}` +
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
  );
}
