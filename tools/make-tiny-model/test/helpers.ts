import { Writable } from 'node:stream';
import { main as icot } from '@icot/cli';
import { main as makeTinyModel } from '../src/main.js';

/** A writable stream that keeps what it is given. */
export function sink(): { readonly stream: Writable; text(): string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    }),
    text: () => chunks.join(''),
  };
}

/** What a command printed and returned. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `make-tiny-model ...args`, in process. */
export async function makeTinyModelCommand(...args: string[]): Promise<CommandResult> {
  const out = sink();
  const err = sink();
  const code = await makeTinyModel(args, { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** `icot ...args`, in process (the model runs in the runner's child process, as from the shell). */
export async function icotCommand(...args: string[]): Promise<CommandResult> {
  const out = sink();
  const err = sink();
  const code = await icot(args, { stdout: out.stream, stderr: err.stream, interactive: false });
  return { code, stdout: out.text(), stderr: err.text() };
}
