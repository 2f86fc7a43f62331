import { writeTinyQwen2Vl, type TinyModelInfo } from './vlm-folders.js';

/** What {@link writeSlowPrefillModel} wrote. */
export interface SlowPrefillModel extends TinyModelInfo {
  /** A chat-formatted prompt of about 5,500 tokens with one image placeholder. */
  readonly longPromptText: string;
}

/**
 * Write a generated Qwen2-VL-style model (plain softmax attention, hidden 256, 16 layers; about
 * 50 MB, written in about a second) whose prefill of {@link SlowPrefillModel.longPromptText} is
 * slow: about 9 s with one onnxruntime thread (`threads: 1` / `--threads 1`) on a 2-core machine
 * (measured; the attention of 5,500 tokens is quadratic). For cancellation tests, which must
 * interrupt a native run that would last much longer than the test waits; never run it to the end
 * (its prefill peaks above 1 GB of memory).
 */
export async function writeSlowPrefillModel(dir: string): Promise<SlowPrefillModel> {
  const info = await writeTinyQwen2Vl(dir, { hidden: 256, layers: 16, heads: 2, kvHeads: 2, attention: 'softmax', seed: 5 });
  const filler = 'q z '.repeat(1350);
  return { ...info, longPromptText: info.promptText.replace('<|vision_end|>', `<|vision_end|>${filler}`) };
}
