// The model worker of the page's browser mode: @icot/backend-web's worker host (onnxruntime-web,
// the demo model from this app's own origin) with the strategies the page offers.
import { serveWebRuns } from '@icot/backend-web/worker';
import { createWebStrategies } from './web-strategies.js';

serveWebRuns({ createStrategies: createWebStrategies });
