/**
 * Published numbers to put beside a run's: ICoT's Table 1 and AIM-CoT's main results.
 * @module
 */
import type { DatasetName } from './datasets.js';

/** A number a paper reports. */
export interface PublishedResult {
  /** The paper, as cited: `ICoT (Gao et al., CVPR 2025)` or `AIM-CoT (Li and Ma, ACL 2026)`. */
  readonly paper: string;
  /** Where in it: arXiv id and table. */
  readonly source: string;
  /** The backbone, as the paper names it. */
  readonly model: string;
  /** The method's row: `No-CoT`, `ICoT`, `AIM-CoT`. */
  readonly method: string;
  readonly shots: 0 | 1;
  readonly dataset: DatasetName;
  /** Accuracy (M3CoT, ScienceQA) or ROUGE-L (LLaVA-W). */
  readonly metric: 'accuracy' | 'rougeL';
  /** The number as a fraction, comparable with a report's `accuracy` / `rougeL`. */
  readonly value: number;
  /** The number as printed in the paper (a percentage). */
  readonly printed: string;
}

const ICOT = { paper: 'ICoT (Gao et al., CVPR 2025)', source: 'arXiv:2411.19488, Table 1' } as const;
const AIMCOT = { paper: 'AIM-CoT (Li and Ma, ACL 2026)', source: 'arXiv:2509.25699, main results (0-shot)' } as const;
const DATASET_ORDER: readonly DatasetName[] = ['m3cot', 'scienceqa', 'llava-w'];

/** Rows as printed: M3CoT, ScienceQA, LLaVA-W. */
function rows(cite: { readonly paper: string; readonly source: string }, model: string, method: string, shots: 0 | 1, printed: readonly [string, string, string]): PublishedResult[] {
  return DATASET_ORDER.map((dataset, i) => ({
    ...cite,
    model,
    method,
    shots,
    dataset,
    metric: dataset === 'llava-w' ? 'rougeL' : 'accuracy',
    value: Number(printed[i]) / 100,
    printed: printed[i]!,
  }));
}

/**
 * The published numbers icot puts beside a report (`--paper`): ICoT's Table 1 (accuracy on M3CoT
 * and ScienceQA, ROUGE-L on LLaVA-W; No-CoT and ICoT rows of Chameleon-7B and Qwen2-VL-7B, 0- and
 * 1-shot) and AIM-CoT's 0-shot results on the same backbones. The paper's other baseline rows
 * (Multimodal CoT, CCoT, DDCoT, SCAFFOLD) are not included.
 */
export const PUBLISHED_RESULTS: readonly PublishedResult[] = [
  ...rows(ICOT, 'Chameleon-7B', 'No-CoT', 0, ['29.1', '47.7', '13.1']),
  ...rows(ICOT, 'Chameleon-7B', 'ICoT', 0, ['29.8', '51.0', '25.2']),
  ...rows(ICOT, 'Chameleon-7B', 'No-CoT', 1, ['28.4', '48.5', '23.9']),
  ...rows(ICOT, 'Chameleon-7B', 'ICoT', 1, ['32.3', '53.4', '27.6']),
  ...rows(ICOT, 'Qwen2-VL-7B', 'No-CoT', 0, ['43.6', '56.3', '32.7']),
  ...rows(ICOT, 'Qwen2-VL-7B', 'ICoT', 0, ['44.1', '56.8', '34.2']),
  ...rows(ICOT, 'Qwen2-VL-7B', 'No-CoT', 1, ['45.4', '64.4', '33.5']),
  ...rows(ICOT, 'Qwen2-VL-7B', 'ICoT', 1, ['46.0', '65.4', '35.7']),
  ...rows(AIMCOT, 'Chameleon-7B', 'AIM-CoT', 0, ['31.4', '53.1', '29.8']),
  ...rows(AIMCOT, 'Qwen2-VL-7B', 'AIM-CoT', 0, ['44.7', '57.4', '36.3']),
];

/** The published numbers on one dataset (and, when given, one shot count). */
export function publishedResults(dataset: DatasetName, shots?: number | null): PublishedResult[] {
  return PUBLISHED_RESULTS.filter((r) => r.dataset === dataset && (shots === undefined || shots === null || r.shots === shots));
}
