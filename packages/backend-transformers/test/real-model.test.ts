// The real-model check on the transformers.js backend: `ICOT_REAL_MODEL=DIR ICOT_REAL_BACKEND=transformers pnpm test:real`
// (skipped without ICOT_REAL_MODEL). The tapped decoder copy goes to the test run's temporary icot cache.
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { describeRealModelChecks, realModelEnvironment } from '@icot/testing';
import { loadTransformersModel } from '../src/index.js';

describeRealModelChecks({
  environment: realModelEnvironment(),
  backend: 'transformers',
  load: async (dir, dtype) => ({
    model: await loadTransformersModel(dir, dtype ? { dtype } : {}),
    selector: createAdsSelector(),
    decoder: createInputInsertionDecoder(),
  }),
});
