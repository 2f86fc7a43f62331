/**
 * `pnpm make-tiny-model`: a tiny random-weight model folder of any family icot runs, a demo image
 * and `icot-demo.json` (question and signal token ids for which a greedy `icot run` inserts at a
 * generated step), checked by running `icot` itself - to test a backend without downloading
 * anything.
 * @module
 */
export { main, HELP, type MakeTinyModelIo } from './main.js';
export {
  DEMO_EVERY,
  DEMO_FILE,
  DEMO_IMAGE,
  DEMO_MAX_NEW_TOKENS,
  DEMO_QUESTION,
  demoRunArguments,
  makeTinyModel,
  shellCommand,
  type IcotRunJson,
  type MadeTinyModel,
  type MakeTinyModelOptions,
  type TinyModelDemo,
} from './make.js';
export { TINY_FAMILIES, TINY_FAMILY_NAMES, type BackendName, type TinyFamily, type TinyFamilyName } from './families.js';
export { chooseSignalTokens, type SignalChoice, type SignalChoiceSettings } from './signal.js';
export { drawDemoImage } from './image.js';
