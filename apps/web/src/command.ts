import { parseWebOptions, WEB_HELP } from './options.js';
import { parentWatch } from './parent-watch.js';
import { startWebServer, type WebServerOptions } from './server.js';

/** Where `icot web` writes, and what stops it (the `icot` command's I/O). */
export interface WebCommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Aborting it (SIGINT / SIGTERM in the `icot` command) stops the server. */
  readonly signal?: AbortSignal;
}

/** How often the parent process is checked for (ms). */
const PARENT_CHECK_MS = 500;

/**
 * `icot web [options]`: start the server (see {@link startWebServer}), print its address on stdout
 * (one line; everything else goes to stderr), serve until `io.signal` aborts or the process that
 * started it dies (its parent, or on Linux any wrapper of the command in its process group), then stop it: runs in progress are killed, connections and
 * the models' child processes closed. Returns the exit code: 0 after a stop, 2 for bad options
 * (thrown as OptionError, which the `icot` command reports).
 */
export async function webCommand(args: readonly string[], io: WebCommandIo, overrides: Pick<WebServerOptions, 'appDir' | 'runner'> = {}): Promise<number> {
  const options = parseWebOptions(args);
  if (!options) {
    io.stdout.write(WEB_HELP);
    return 0;
  }
  if (io.signal?.aborted) return 0;
  const note = (line: string): void => void (options.quiet ? undefined : io.stderr.write(`icot web: ${line}\n`));
  const server = await startWebServer({
    port: options.port,
    models: options.models,
    modelSettings: options.modelSettings,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    limits: options.limits,
    runner: { onOutput: (text) => void io.stderr.write(text), ...overrides.runner },
    ...(overrides.appDir !== undefined ? { appDir: overrides.appDir } : {}),
    log: note,
  });
  io.stdout.write(`${server.url}\n`);
  note(`serving ${server.url} (models: ${server.models.map((m) => m.id).join(', ')}${options.dataDir ? `; ratings in ${options.dataDir}` : ''}); Ctrl-C stops it`);
  const parentGone = parentWatch();
  await new Promise<void>((resolve) => {
    const stop = (why: string): void => {
      clearInterval(watch);
      io.signal?.removeEventListener('abort', onAbort);
      note(`stopping (${why})`);
      resolve();
    };
    const onAbort = (): void => stop((io.signal!.reason as Error | undefined)?.message ?? 'cancelled');
    // stop with the process that started this one, even when no signal came
    const watch = setInterval(() => {
      const gone = parentGone();
      if (gone) stop(gone);
    }, PARENT_CHECK_MS);
    io.signal?.addEventListener('abort', onAbort, { once: true });
  });
  await server.close();
  return 0;
}
