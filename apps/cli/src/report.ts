import type { Box, ICoTResult } from '@icot/core';

/** What the HTML report shows. */
export interface ReportInput {
  readonly title: string;
  /** Image file bytes and MIME type (embedded as a data URL). */
  readonly image: { readonly bytes: Uint8Array; readonly mime: string; readonly width: number; readonly height: number };
  readonly prompt: string;
  readonly result: ICoTResult;
  /** Text of each generated token, in order (to split the answer at insertion points). */
  readonly tokenTexts: readonly string[];
  readonly notes: readonly string[];
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

function overlay(image: ReportInput['image'], dataUrl: string, groups: readonly { boxes: readonly Box[]; color: string }[]): string {
  const rects = groups
    .flatMap((g) =>
      g.boxes.map(
        (b) =>
          `<rect x="${b.x.toFixed(1)}" y="${b.y.toFixed(1)}" width="${b.width.toFixed(1)}" height="${b.height.toFixed(1)}" fill="${g.color}" fill-opacity="0.28" stroke="${g.color}" stroke-width="${Math.max(1, image.width / 200).toFixed(1)}"/>`,
      ),
    )
    .join('');
  return `<svg viewBox="0 0 ${image.width} ${image.height}" role="img"><image href="${dataUrl}" width="${image.width}" height="${image.height}"/>${rects}</svg>`;
}

/**
 * A self-contained HTML page: the answer split into reasoning steps, and for each insertion the
 * image with the selected patches drawn on it.
 */
export function renderReport(input: ReportInput): string {
  const { result, image } = input;
  const dataUrl = `data:${image.mime};base64,${Buffer.from(image.bytes).toString('base64')}`;
  const sections: string[] = [];
  let from = 0;
  const textUpTo = (end: number): string => input.tokenTexts.slice(from, end).join('');
  result.insertions.forEach((ins, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const end = ins.step + 1;
    const before = ins.step >= 0 ? textUpTo(end) : '';
    if (ins.step >= 0) from = end;
    sections.push(
      `<section class="step"><div class="text">${before ? `<pre>${escapeHtml(before)}</pre>` : '<p class="muted">(right after the prompt)</p>'}</div>` +
        `<figure>${overlay(image, dataUrl, [{ boxes: ins.boxes, color }])}<figcaption><b style="color:${color}">Insertion ${i + 1}</b>` +
        ` at step ${ins.step}: ${ins.selected.length} patches <code>[${ins.selected.join(', ')}]</code></figcaption></figure></section>`,
    );
  });
  const rest = textUpTo(input.tokenTexts.length);
  if (rest) sections.push(`<section class="step"><div class="text"><pre>${escapeHtml(rest)}</pre></div><div></div></section>`);
  const all = overlay(
    image,
    dataUrl,
    result.insertions.map((ins, i) => ({ boxes: ins.boxes, color: PALETTE[i % PALETTE.length]! })),
  );
  const t = result.timings;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.4em} pre{white-space:pre-wrap;word-break:break-word;margin:0;font:14px/1.5 ui-monospace,monospace}
.step{display:grid;grid-template-columns:1fr 320px;gap:1.5em;border-top:1px solid #ddd;padding:1em 0}
svg{width:100%;height:auto;display:block;border:1px solid #ccc} figure{margin:0} figcaption{font-size:13px;margin-top:.3em}
.muted{color:#777} .notes{background:#fff8e1;border:1px solid #f0d98c;padding:.6em 1em;border-radius:4px}
.summary{display:grid;grid-template-columns:1fr 320px;gap:1.5em} table{border-collapse:collapse} td{padding:0 1em 0 0}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
${input.notes.length ? `<div class="notes">${input.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>` : ''}
<div class="summary"><div><h2>Prompt</h2><pre>${escapeHtml(input.prompt)}</pre>
<h2>Run</h2><table>
<tr><td>generated tokens</td><td>${result.usage.generatedTokens} (${result.finishReason})</td></tr>
<tr><td>insertions</td><td>${result.insertions.length} (${result.usage.insertedTokens} inserted tokens)</td></tr>
<tr><td>prefill</td><td>${t.prefillMs.toFixed(1)} ms</td></tr>
<tr><td>decode</td><td>${t.perTokenMs.toFixed(2)} ms/token</td></tr>
<tr><td>total</td><td>${t.totalMs.toFixed(0)} ms</td></tr></table></div>
<figure>${all}<figcaption>All selected patches</figcaption></figure></div>
<h2>Interleaved reasoning</h2>
${sections.join('\n')}
</body></html>
`;
}
