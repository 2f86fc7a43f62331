// The real-model check on the ONNX backend: `ICOT_REAL_MODEL=DIR pnpm test:real` (skipped without it).
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { describeRealModelChecks, realModelEnvironment } from '@icot/testing';
import { loadOnnxModel, parseDtype } from '../src/index.js';

describeRealModelChecks({
  environment: realModelEnvironment(),
  backend: 'onnx',
  load: async (dir, dtype) => ({
    model: await loadOnnxModel(dir, dtype ? { dtype: parseDtype(dtype) } : {}),
    selector: createAdsSelector(),
    decoder: createInputInsertionDecoder(),
  }),
});
