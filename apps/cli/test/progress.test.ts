import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDownloadProgress, formatBytes, formatDuration } from '../src/progress.js';

function sink(columns?: number): Writable & { text: () => string; columns?: number } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  }) as Writable & { text: () => string; columns?: number };
  stream.text = () => chunks.join('');
  if (columns) stream.columns = columns;
  return stream;
}

describe('download progress display', () => {
  it('formats bytes in decimal units and durations', () => {
    expect([formatBytes(999), formatBytes(1500), formatBytes(12_345_678), formatBytes(1.2e9)]).toEqual(['999 B', '1.50 kB', '12.3 MB', '1.20 GB']);
    expect([formatDuration(42), formatDuration(187), formatDuration(3900)]).toEqual(['42s', '3m07s', '1h05m']);
  });

  it('redraws one line in place on a terminal: bytes, percent, rate, time left; then a final line', () => {
    let now = 0;
    const stream = sink();
    const show = createDownloadProgress({ stream, interactive: true, now: () => now });
    show({ file: 'onnx/model.onnx', loaded: 0, total: 100e6 });
    for (let i = 1; i <= 50; i++) {
      now = i * 20; // every 20 ms: redrawn at most every 100 ms
      show({ file: 'onnx/model.onnx', loaded: i * 1e6, total: 100e6 });
    }
    const text = stream.text();
    const frames = text.split('\r\x1b[K').filter(Boolean);
    expect(frames.length).toBeLessThanOrEqual(12);
    expect(frames.at(-1)).toBe('icot: downloading onnx/model.onnx  50.0 MB / 100 MB  50%  50.0 MB/s  ETA 1s');
    expect(text).not.toContain('\n');
    now = 2000;
    show({ file: 'onnx/model.onnx', loaded: 100e6, total: 100e6 });
    expect(stream.text().endsWith('\r\x1b[Kicot: downloaded onnx/model.onnx (100 MB in 2s, 50.0 MB/s)\n')).toBe(true);
  });

  it('uses the reporter\'s rate and ETA when given, and fits the terminal width', () => {
    const stream = sink(40);
    const show = createDownloadProgress({ stream, interactive: true, now: () => 0 });
    show({ file: 'a-very-long-file-name-that-does-not-fit.onnx', loaded: 5e6, total: 10e6, rate: 1e6, etaSeconds: 5 });
    const line = stream.text().split('\r\x1b[K').pop()!;
    expect(line.length).toBeLessThanOrEqual(39);
    const wide = sink();
    createDownloadProgress({ stream: wide, interactive: true, now: () => 0 })({ file: 'f', loaded: 5e6, total: 10e6, rate: 1e6, etaSeconds: 5 });
    expect(wide.text()).toContain('1.00 MB/s  ETA 5s');
  });

  it('prints occasional plain lines when not on a terminal', () => {
    let now = 0;
    const stream = sink();
    const show = createDownloadProgress({ stream, interactive: false, now: () => now });
    for (let i = 0; i <= 300; i++) {
      now = i * 100; // 30 s of reports every 100 ms
      show({ file: 'w.onnx_data', loaded: 20e6 + i * 1e6, total: 400e6 });
    }
    show({ file: 'w.onnx_data', loaded: 400e6, total: 400e6, done: true });
    const lines = stream.text().trim().split('\n');
    expect(lines[0]).toBe('icot: downloading w.onnx_data (400 MB, resuming at 20.0 MB)');
    expect(lines.length).toBe(5); // start, at 10 s, 20 s, 30 s, done
    expect(lines[1]).toMatch(/^icot: w\.onnx_data {2}120 MB \/ 400 MB {2}30% {2}10\.0 MB\/s {2}ETA 28s$/);
    expect(lines.at(-1)).toMatch(/^icot: downloaded w\.onnx_data \(400 MB in 30s, 12\.7 MB\/s\)$/);
    expect(stream.text()).not.toContain('\r');
  });

  it('shows nothing for cached files or under --quiet', () => {
    const stream = sink();
    createDownloadProgress({ stream, interactive: true })({ file: 'c', loaded: 10, total: 10, cached: true, done: true });
    const quiet = createDownloadProgress({ stream, interactive: true, quiet: true });
    quiet({ file: 'x', loaded: 1, total: 10 });
    quiet({ file: 'x', loaded: 10, total: 10 });
    expect(stream.text()).toBe('');
  });
});
