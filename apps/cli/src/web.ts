import { OptionError } from '@icot/core';
import type { CommandIo } from './run.js';

/** `icot web`'s entry in `@icot/web`. */
type WebCommand = (args: readonly string[], io: Pick<CommandIo, 'stdout' | 'stderr' | 'signal'>) => Promise<number>;

/** The npm line that installs the web app next to the CLI. */
export const WEB_INSTALL_LINE = 'ONNXRUNTIME_NODE_INSTALL=skip npm install @icot/web';

/**
 * Load `icot web` from the `@icot/web` package (not a dependency of the CLI, so installs of the
 * command alone stay small). When it is not installed, throws an {@link OptionError} (exit 2)
 * whose hint is the npm line that installs it. `specifier` is for tests.
 */
export async function loadWebCommand(specifier = '@icot/web'): Promise<WebCommand> {
  try {
    const module = (await import(specifier)) as { webCommand: WebCommand };
    return module.webCommand;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    // the package itself is missing (not one of its dependencies, whose message names the package's path)
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(`'${specifier}'`))
      throw new OptionError(`'icot web' comes from the package ${specifier}, which is not installed.`, {
        hint: `Install it next to @icot/cli: ${WEB_INSTALL_LINE} (with a global icot: npm install -g @icot/web).`,
      });
    throw error;
  }
}
