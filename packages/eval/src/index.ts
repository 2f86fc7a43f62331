export { EvalDataError, MissingImageError, type RecordLocation } from './errors.js';
export { ANSWER_LETTERS, EXTRACTORS, FAILED, answerLetter, extractAnswer, judgeAnswer, type ExtractOptions, type Extractor } from './judge.js';
export { PREDICTION_FIELDS, parsePredictions, type PredictionRecord } from './predictions.js';
export {
  DATASET_NAMES,
  parseLlavaBench,
  parseM3CoTSplit,
  parseScienceQA,
  type DatasetName,
  type MultipleChoiceDataset,
  type MultipleChoiceSample,
  type OpenEndedDataset,
  type OpenEndedSample,
  type ScienceQaSubset,
  type SkippedRecord,
} from './datasets.js';
export {
  scoreMultipleChoice,
  scoreRougeL,
  type MultipleChoiceScore,
  type MultipleChoiceScoreOptions,
  type RougeScore,
  type RougeTally,
  type SkippedCounts,
  type Tally,
} from './score.js';
export { ROUGE_BETA, lcsLength, numpyMean, rougeL } from './rouge.js';
export { parseJsonl, type JsonLine } from './jsonl.js';
