import type { ImageLayout, ICoTResult, InsertionRecord } from '@icot/core';
import { escapeXml, renderAttentionLegend, renderAttentionOverlay, renderImageDefinition, renderSelectionOverlay } from '@icot/overlay';

/** What the HTML report shows. */
export interface ReportInput {
  readonly title: string;
  /** Image file bytes and MIME type (embedded once, as a data URL). */
  readonly image: { readonly bytes: Uint8Array; readonly mime: string; readonly width: number; readonly height: number };
  readonly prompt: string;
  readonly result: ICoTResult;
  /** Text of each generated token, in order (to split the answer at insertion points). */
  readonly tokenTexts: readonly string[];
  readonly notes: readonly string[];
}

/** Text for the page: markup escaped, control characters shown as symbols (never raw bytes). */
const text = escapeXml;

/** One colour per insertion, for the summary figure and the insertion headings. */
const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

const IMAGE_ID = 'icot-query-image';

/**
 * A self-contained HTML page (no external resources): the prompt and the run's numbers, all
 * selected patches over the image, then the answer split at each insertion, every step's text
 * beside the query image with the signal token's attention over every patch as a heatmap
 * (normalised per insertion), the selected patches outlined and each patch's score on hover, and
 * a legend (drawn by `@icot/overlay`). The image's bytes are embedded once.
 */
/** Which strategy chose the insertion's patches (and, when another one stood in, which and why). */
function strategyLine(ins: InsertionRecord): string {
  const chosen = ins.fallback
    ? `chosen by <b>${text(ins.fallback.selector)}</b> instead of ${text(ins.selector)}: ${text(ins.fallback.reason)}`
    : `chosen by <b>${text(ins.selector)}</b>`;
  const variant = ins.variant ? ` (${text(ins.variant)})` : '';
  const grounded = ins.groundedBoxes?.length
    ? `; located: ${ins.groundedBoxes.map((b) => `"${text(b.text)}" at (${Math.round(b.x)}, ${Math.round(b.y)}) ${Math.round(b.width)}x${Math.round(b.height)} px`).join(', ')}`
    : '';
  return `${chosen}${variant}${grounded}`;
}

/** The regions a segmentation selector chose whole, one colour each (nothing for other selectors). */
function regionsFigure(ins: InsertionRecord, picture: Parameters<typeof renderSelectionOverlay>[0]['image'], layout: ImageLayout): string {
  if (!ins.regions?.length) return '';
  const overlay = renderSelectionOverlay({
    image: picture,
    layout,
    groups: ins.regions.map((region, r) => ({ selected: region, color: PALETTE[r % PALETTE.length]!, label: `region ${r + 1}` })),
    label: `The ${ins.regions.length} regions chosen whole`,
  });
  return `<figcaption>The ${ins.regions.length} region${ins.regions.length === 1 ? '' : 's'} chosen whole:</figcaption>${overlay}`;
}

export function renderReport(input: ReportInput): string {
  const { result, image } = input;
  const layout = result.queryImage;
  const dataUrl = `data:${image.mime};base64,${Buffer.from(image.bytes).toString('base64')}`;
  const picture = { ref: IMAGE_ID };
  const k = result.settings.k;
  const sections: string[] = [];
  let from = 0;
  const textUpTo = (end: number): string => input.tokenTexts.slice(from, end).join('');
  result.insertions.forEach((ins, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const end = ins.step + 1;
    const before = ins.step >= 0 ? textUpTo(end) : '';
    if (ins.step >= 0) from = end;
    const where = ins.step >= 0 ? `after step ${ins.step}` : 'right after the prompt';
    const overlay = renderAttentionOverlay({
      image: picture,
      layout,
      insertion: ins,
      label: `Insertion ${i + 1}: ${ins.attention ? 'attention over the image, ' : ''}${ins.selected.length} selected patches outlined`,
    });
    sections.push(
      `<section class="step" id="insertion-${i + 1}">` +
        `<div class="text"><h3><span class="dot" style="background:${color}"></span>Insertion ${i + 1} <span class="muted">${where}</span></h3>` +
        (before ? `<pre>${text(before)}</pre>` : '<p class="muted">(before any text)</p>') +
        `<p class="meta">${ins.selected.length} of ${layout.patchCount} patches fed back in (${ins.insertedTokens} tokens at position ${ins.position}): <code>${ins.selected.join(', ')}</code></p>` +
        `<p class="meta strategy">${strategyLine(ins)}</p></div>` +
        `<figure>${overlay}${renderAttentionLegend({ attention: ins.attention, width: 520 })}${regionsFigure(ins, picture, layout)}</figure></section>`,
    );
  });
  const rest = textUpTo(input.tokenTexts.length);
  if (rest)
    sections.push(`<section class="step"><div class="text"><h3>${result.insertions.length ? 'After the last insertion' : 'The answer'}</h3><pre>${text(rest)}</pre></div><div></div></section>`);
  const all = renderSelectionOverlay({
    image: picture,
    layout,
    groups: result.insertions.map((ins, i) => ({ selected: ins.selected, color: PALETTE[i % PALETTE.length]!, label: `insertion ${i + 1}` })),
    label: 'All selected patches, one colour per insertion',
  });
  const key = result.insertions
    .map((_, i) => `<a href="#insertion-${i + 1}"><span class="dot" style="background:${PALETTE[i % PALETTE.length]!}"></span>${i + 1}</a>`)
    .join(' ');
  const t = result.timings;
  const attentionNote = result.insertions.some((ins) => ins.attention)
    ? "Each insertion shows the step's text beside the image with the signal token's attention to every patch as colour (normalised per insertion, dark to light); the selected patches are outlined. Hover a patch for its index, cell and score."
    : 'The selector used no attention: each insertion shows its selected patches outlined.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${text(input.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1160px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.4em} h3{font-size:1em;margin:0 0 .5em} pre{white-space:pre-wrap;word-break:break-word;margin:0;font:14px/1.5 ui-monospace,monospace}
.step{display:grid;grid-template-columns:minmax(0,1fr) 520px;gap:1.5em;border-top:1px solid #ddd;padding:1em 0}
.summary{display:grid;grid-template-columns:minmax(0,1fr) 360px;gap:1.5em}
svg.icot-overlay{width:100%;height:auto;display:block;border:1px solid #ccc} svg.icot-attention-legend{display:block;max-width:100%;height:auto;margin-top:.4em}
figure{margin:0} figcaption{font-size:13px;margin-top:.3em} code{font-size:13px;word-break:break-word}
.muted{color:#777;font-weight:normal} .meta{font-size:13px;color:#555;margin:.6em 0 0} .dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.4em;vertical-align:-.05em}
figcaption a{color:inherit;text-decoration:none;margin-right:.6em}
.notes{background:#fff8e1;border:1px solid #f0d98c;padding:.6em 1em;border-radius:4px;margin-bottom:1em} table{border-collapse:collapse} td{padding:0 1em 0 0}
@media (max-width:900px){.step,.summary{grid-template-columns:minmax(0,1fr)}}
</style></head><body>
${renderImageDefinition({ id: IMAGE_ID, href: dataUrl, width: layout.size.width, height: layout.size.height })}
<h1>${text(input.title)}</h1>
${input.notes.length ? `<div class="notes">${input.notes.map((n) => `<p>${text(n)}</p>`).join('')}</div>` : ''}
<div class="summary"><div><h2>Prompt</h2><pre>${text(input.prompt)}</pre>
<h2>Run</h2><table>
<tr><td>image</td><td>${image.width} x ${image.height} px, ${layout.patchCount} patches${layout.tiles.length > 1 ? ` in ${layout.tiles.length} tiles (with the global view)` : ''}</td></tr>
<tr><td>generated tokens</td><td>${result.usage.generatedTokens} (${result.finishReason})</td></tr>
<tr><td>insertions</td><td>${result.insertions.length} of k = ${k} patches (${result.usage.insertedTokens} inserted tokens)</td></tr>
<tr><td>prefill</td><td>${t.prefillMs.toFixed(1)} ms</td></tr>
<tr><td>decode</td><td>${t.perTokenMs.toFixed(2)} ms/token</td></tr>
<tr><td>total</td><td>${t.totalMs.toFixed(0)} ms</td></tr></table></div>
<figure>${all}<figcaption>All selected patches, by insertion: ${key || 'none'}</figcaption></figure></div>
<h2>Interleaved reasoning</h2>
<p class="muted">${attentionNote}</p>
${sections.join('\n')}
</body></html>
`;
}
