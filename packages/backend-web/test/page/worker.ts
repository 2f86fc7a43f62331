// The test page's model worker: the backend's worker host with the strategies the tests use.
import { createRandomSelector } from '@icot/selector-random';
import { createSignalTrigger, OptionError } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createAdsSelector } from '@icot/selector-ads';
import { serveWebRuns } from '../../src/worker.js';

serveWebRuns({
  wasmPaths: '/ort/',
  createStrategies: (description) => {
    const selector = description.selector?.name ?? 'ads';
    if (selector !== 'ads' && selector !== 'random') throw new OptionError(`Unknown selector '${selector}'.`, { hint: 'Use ads or random.' });
    if ((description.decoder?.name ?? 'input') !== 'input') throw new OptionError(`Unknown decoder '${description.decoder?.name}'.`, { hint: 'Use input.' });
    return {
      selector: selector === 'ads' ? createAdsSelector() : createRandomSelector(),
      decoder: createInputInsertionDecoder({ layout: description.decoder?.layout ?? 'grid' }),
      trigger: createSignalTrigger({ signal: description.trigger?.signal ?? 'newline', every: description.trigger?.every ?? 2 }),
    };
  },
});
