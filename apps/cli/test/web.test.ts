import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { IcotError } from '@icot/core';
import { WEB_HELP } from '@icot/web';
import { main } from '../src/main.js';
import { loadWebCommand, WEB_INSTALL_LINE } from '../src/web.js';

/** Run `icot ...` in this process; returns the exit code and what it wrote. */
async function icot(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk));
  stderr.on('data', (chunk: Buffer) => (err += chunk));
  const code = await main(argv, { stdout, stderr, interactive: false });
  return { code, stdout: out, stderr: err };
}

describe('icot web (from @icot/web, loaded when asked for)', () => {
  it('icot web --help and icot help web print the web help', async () => {
    for (const argv of [['web', '--help'], ['help', 'web']]) {
      const r = await icot(...argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(WEB_HELP);
    }
    expect((await icot('help')).stdout).toMatch(/^ {2}web {8}serve the web app/m);
  });

  it('a bad flag exits 2 with the message and hint', async () => {
    const r = await icot('web', '--port', 'eighty');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: --port must be an integer from 0 to 65535, got 'eighty'\./);
  });

  it('when @icot/web is not installed, the command says how to install it (exit 2)', async () => {
    const error = await loadWebCommand('@icot/web-not-installed').catch((e: unknown) => e);
    expect(IcotError.is(error)).toBe(true);
    expect((error as IcotError).code).toBe('invalid-option');
    expect((error as IcotError).message).toBe("'icot web' comes from the package @icot/web-not-installed, which is not installed.");
    expect((error as IcotError).hint).toContain(WEB_INSTALL_LINE);
    expect(WEB_INSTALL_LINE).toBe('ONNXRUNTIME_NODE_INSTALL=skip npm install @icot/web');
  });
});
