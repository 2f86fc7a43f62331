/**
 * A tiny random-weight Qwen2-VL model in the onnx-community layout, shipped so that `icot run`
 * works offline on a fresh machine. Its weights are random: it demonstrates the mechanics of
 * ICoT (attention, patch selection, insertion), not reasoning; its text is gibberish.
 * @module
 */
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../model/', import.meta.url));

/** Everything needed to run the demo model. */
export interface DemoModel {
  /** Folder of the model (onnx-community layout). */
  readonly dir: string;
  /** A 224x224 test image (8x8 merged patches). */
  readonly image: string;
  /** A question about the image. */
  readonly question: string;
  /** One-line label to show users. */
  readonly label: string;
  /**
   * Signal tokens for the demo: the random-weight model almost never writes a line break, so the
   * demo treats the token it writes most (`a`, id 64) as the step signal to show insertions.
   */
  readonly signalTokenIds: readonly number[];
}

/** The embedded demo model. */
export const demoModel: DemoModel = {
  dir: root,
  image: `${root}image.png`,
  question: "Question: Which shape is in the top left corner of the image?\nOptions:\nA. a red square\nB. a blue circle\nC. a green stripe\nD. nothing\nLet's think step by step.\n",
  label: 'embedded demo model: a tiny Qwen2-VL with RANDOM weights (gibberish text; it shows the ICoT mechanics). Pass --model for a real model.',
  signalTokenIds: [64],
};
