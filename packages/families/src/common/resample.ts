import { ModelConfigError } from '@icot/core';
import type { ResampleFilter } from '@icot/image';

const PIL_FILTERS: Readonly<Record<number, ResampleFilter>> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic' };

/** The filter of a PIL resample code (`resample` in preprocessor configs; 3 = bicubic). */
export function pilResampleFilter(code: number): ResampleFilter {
  const filter = PIL_FILTERS[code];
  if (!filter) throw new ModelConfigError(`preprocessor_config.json asks for resample=${code}, which is not supported.`, { hint: 'Use 0 (nearest), 1 (lanczos), 2 (bilinear) or 3 (bicubic).' });
  return filter;
}
