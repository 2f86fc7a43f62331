/**
 * The icot web app's server: `icot web` ({@link webCommand}) and {@link startWebServer} serve the
 * page (upload an image, ask, watch the reasoning stream in with each insertion's attention over
 * the image, compare two strategies, rate regions blind) and its HTTP API on 127.0.0.1 - models in
 * child processes behind bounded queues, uploads, pixels, tokens and run time bounded, `Host` and
 * `Origin` checked. The page itself (Vite-built, in `dist/app`) also runs the demo model in the
 * browser.
 * @module
 */
export { webCommand, type WebCommandIo } from './command.js';
export { DEFAULT_WEB_LIMITS, DEFAULT_WEB_PORT, parseWebOptions, WEB_HELP, type ServedModelSettings, type WebLimits, type WebOptions } from './options.js';
export { DEFAULT_APP_DIR, startWebServer, type ServerRunEvent, type WebServer, type WebServerOptions } from './server.js';
export type { ServedModelInfo } from './models.js';
export { RUN_OPTION_NAMES, type ResolvedRunOptions } from './run-request.js';
export { checkRating, type RatedRegion, type RatingInput, type RatingRecord } from './ratings.js';
