import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Folder of the reference fixtures shipped with this package. */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Names of the shipped fixtures. */
export type FixtureName = 'tiny-qwen2-vl' | 'tiny-chameleon';

/** Absolute path of a fixture folder (or of a file inside it). */
export function fixturePath(name: FixtureName, file = ''): string {
  return `${FIXTURES_DIR}${name}${file ? `/${file}` : ''}`;
}

/** One insertion recorded by the reference implementation. */
export interface OracleEvent {
  readonly step: number;
  readonly token: number | null;
  readonly selected: readonly number[];
  readonly scores: readonly number[];
  readonly kth_gap: number | null;
  readonly block_positions?: readonly (readonly number[])[];
  readonly block_ids?: readonly number[];
}

/** What the reference implementation produced on a fixture (`oracle.json`). */
export interface Oracle {
  readonly prompt_text: string;
  readonly input_ids: readonly number[];
  readonly position_ids?: readonly (readonly number[])[];
  readonly query_image_span: readonly [number, number];
  readonly signal_token_ids: readonly number[];
  readonly every: number;
  readonly max_insertions: number;
  readonly k: number;
  readonly max_new_tokens: number;
  readonly plain_greedy_tokens: readonly number[];
  readonly tokens: readonly number[];
  readonly text: string;
  readonly events: readonly OracleEvent[];
  readonly pixel_values_shape: readonly number[];
  readonly image_features_first_row?: readonly number[];
  readonly image_tokens?: readonly number[];
  readonly [key: string]: unknown;
}

/** Read a fixture's `oracle.json`. */
export function loadOracle(name: FixtureName): Oracle {
  return JSON.parse(readFileSync(fixturePath(name, 'oracle.json'), 'utf8')) as Oracle;
}

/** Read a fixture's reference preprocessor output (`pixel_values.f32`). */
export function loadReferencePixels(name: FixtureName): Float32Array {
  const bytes = readFileSync(fixturePath(name, 'pixel_values.f32'));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
