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
  byCodePoint,
  orderDomains,
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
export { parseResultLines, parseRunFile, type FailedSample, type ResultLines, type RunFile, type SampleResult, type SampleUsage, type ShardInfo } from './results.js';
export {
  canonicalJson,
  expectedSampleIds,
  mergeShards,
  summarizeRun,
  type InsertionSummary,
  type MergedRun,
  type MultipleChoiceRunReport,
  type RougeRunReport,
  type RunReport,
  type RunReportBase,
  type ShardInput,
  type SplitSample,
  type SummarizeOptions,
  type UsageSummary,
} from './report.js';
export {
  STRATEGY_FLAGS,
  checkSweepSpec,
  decideCell,
  findNoInsertionControl,
  findRandomControl,
  flagArgs,
  flagName,
  fnv1a,
  folderName,
  insertsNothing,
  noInsertionFlags,
  parseSweepSpec,
  planSweep,
  randomFlags,
  type AxisValue,
  type CellDecision,
  type CellFolderState,
  type CellRole,
  type FlagValue,
  type NamedStrategy,
  type SweepCell,
  type SweepPlan,
  type SweepSpec,
} from './sweep.js';
export { compareSweep, type SweepComparison, type SweepRow } from './compare.js';
export { PUBLISHED_RESULTS, publishedResults, type PublishedResult } from './paper.js';
export { PALETTE, barChart, escapeXml, lineChart, niceTicks, scatterChart } from './charts.js';
export { axisText, percent, points, renderRunHtml, renderRunMarkdown, renderSweepHtml, renderSweepMarkdown, runHeadline, scoreTable, sweepTable, type Table } from './render.js';
export {
  CHAMELEON_SEPARATOR,
  DDCOT_UNCERTAIN,
  EVAL_METHODS,
  PROMPT_STYLES,
  parseDecomposition,
  pythonRepr,
  runMethod,
  stageSeed,
  type EvalMethod,
  type EvalSample,
  type MethodRun,
  type MethodSettings,
  type PromptStyle,
  type StageImage,
  type StagePrompt,
} from './methods.js';
export { ICOT_DEMONSTRATION, demonstrationRegions, regionTag, type Demonstration, type DemonstrationImageGrid, type DemonstrationStep, type GridRegion } from './demonstration.js';
export { parseShard, selectSamples, shardFileNames, shardFromEnvironment, type ResolvedShard, type SelectedSample, type SelectionOptions, type Shard } from './shard.js';
export { diffConfigurations, shortValue, type ConfigDifference } from './run-config.js';
