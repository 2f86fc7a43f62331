import { describe, expect, it } from 'vitest';
import { imageLayout, OptionError, type Box, type ImageLayout } from '@icot/core';
import { createTestImage, createToyModel } from '@icot/core/test';
import { attentionColor } from './colormap.js';
import { escapeXml, replaceControlCharacters } from './escape.js';
import {
  attentionRange,
  formatScore,
  normalizeAttention,
  renderAttentionLegend,
  renderAttentionOverlay,
  renderImageDefinition,
  renderSelectionOverlay,
} from './overlay.js';

/** A single-grid layout: `rows x cols` patches of `cell` pixels, raster order. */
function gridLayout(rows: number, cols: number, cell: number): ImageLayout {
  const patchBoxes: Box[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) patchBoxes.push({ x: c * cell, y: r * cell, width: cell, height: cell });
  return {
    size: { width: cols * cell, height: rows * cell },
    patchCount: rows * cols,
    tiles: [{ grid: { rows, cols }, firstPatch: 0, box: { x: 0, y: 0, width: cols * cell, height: rows * cell }, place: { row: 0, col: 0 } }],
    patchBoxes,
  };
}

/** Elements `<tag ...>` of a string with their attributes (a test reader for the SVG the package writes). */
function elements(svg: string, tag: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\b([^>]*?)/?>`, 'g'))].map((m) => Object.fromEntries([...m[1]!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
}

/** The content of the first `<g class="name">` (groups of this package hold no nested groups). */
function group(svg: string, name: string): string {
  const match = new RegExp(`<g class="${name}"[^>]*>([\\s\\S]*?)</g>`).exec(svg);
  if (!match) throw new Error(`no group ${name}`);
  return match[1]!;
}

/** Every tag opened is closed in order (well-formed as XML), and no raw control character. */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else stack.push(m[2]!);
  }
  expect(stack).toEqual([]);
  // eslint-disable-next-line no-control-regex
  expect(svg).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
}

const boxOf = (rect: Record<string, string>): Box => ({ x: Number(rect['x']), y: Number(rect['y']), width: Number(rect['width']), height: Number(rect['height']) });

describe('renderAttentionOverlay', () => {
  const layout = gridLayout(3, 4, 30);
  const attention = [0.01, 0.02, 0.5, 0.03, 0.04, 0.2, 0.05, 0.06, 0.07, 0.08, 0.09, 0.001];
  const insertion = { attention, selected: [2, 5] };

  it('fills every patch with the colour of its score, normalised from the row minimum to its maximum', () => {
    const svg = renderAttentionOverlay({ image: { href: 'data:image/png;base64,AAAA' }, layout, insertion });
    expectWellFormed(svg);
    const cells = elements(svg, 'rect').filter((r) => r['class'] === 'cell');
    expect(cells).toHaveLength(12);
    cells.forEach((cell, i) => {
      expect(cell['data-patch']).toBe(String(i));
      expect(boxOf(cell)).toEqual(layout.patchBoxes[i]);
      expect(cell['fill']).toBe(attentionColor((attention[i]! - 0.001) / (0.5 - 0.001)));
    });
    expect(cells[2]!['fill']).toBe(attentionColor(1)); // the maximum: the lightest colour
    expect(cells[11]!['fill']).toBe(attentionColor(0)); // the minimum: the darkest
    expect(svg).toContain('viewBox="0 0 120 90"');
    expect(elements(svg, 'image')).toEqual([{ href: 'data:image/png;base64,AAAA', x: '0', y: '0', width: '120', height: '90', preserveAspectRatio: 'none' }]);
    expect(group(svg, 'heatmap')).toBeTruthy();
    expect(svg).toMatch(/<g class="heatmap" fill-opacity="0.6"/);
  });

  it('outlines exactly the selected patches, twice (black halo, white line), above the cells', () => {
    const svg = renderAttentionOverlay({ image: { href: 'x.png' }, layout, insertion });
    for (const name of ['outline', 'outline-halo']) {
      const rects = elements(group(svg, name), 'rect');
      expect(rects.map(boxOf)).toEqual([layout.patchBoxes[2], layout.patchBoxes[5]]);
      expect(rects.every((r) => r['vector-effect'] === 'non-scaling-stroke')).toBe(true);
    }
    expect(svg.indexOf('class="outline"')).toBeGreaterThan(svg.indexOf('class="heatmap"'));
    expect(svg).toMatch(/<g class="outline" fill="none" stroke="#fff" stroke-width="2" pointer-events="none">/);
  });

  it('titles every patch with its index, cell, score and rank, and marks the selected', () => {
    const svg = renderAttentionOverlay({ image: { href: 'x.png' }, layout, insertion });
    const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]!);
    expect(titles[0]).toBe('Attention over the image, selected patches outlined'); // the figure's own
    expect(titles.slice(1)).toHaveLength(12);
    expect(titles[1 + 2]).toBe('patch 2 (row 0, col 2) · attention 0.5, rank 1 of 12 · selected');
    expect(titles[1 + 5]).toBe('patch 5 (row 1, col 1) · attention 0.2, rank 2 of 12 · selected');
    expect(titles[1 + 11]).toBe('patch 11 (row 2, col 3) · attention 0.001, rank 12 of 12');
    expect(titles.filter((t) => t.endsWith('selected'))).toHaveLength(2);
  });

  it('gives tied scores one rank, and a constant row the middle colour', () => {
    const flat = renderAttentionOverlay({ image: { href: 'x.png' }, layout, insertion: { attention: new Array<number>(12).fill(0.25), selected: [] } });
    expect(new Set(elements(flat, 'rect').filter((r) => r['class'] === 'cell').map((r) => r['fill']))).toEqual(new Set([attentionColor(0.5)]));
    expect(flat).toContain('patch 7 (row 1, col 3) · attention 0.25, rank 1 of 12');
  });

  it('without an attention row: transparent cells that still carry titles, and the outlines', () => {
    const svg = renderAttentionOverlay({ image: { href: 'x.png' }, layout, insertion: { attention: null, selected: [0, 11] } });
    expectWellFormed(svg);
    expect(svg).toMatch(/<g class="heatmap" fill-opacity="0"/);
    expect(elements(svg, 'rect').filter((r) => r['class'] === 'cell')).toHaveLength(12);
    expect(svg).toContain('<title>patch 11 (row 2, col 3) · selected</title>');
    expect(svg).not.toContain('attention 0');
    expect(elements(group(svg, 'outline'), 'rect').map(boxOf)).toEqual([layout.patchBoxes[0], layout.patchBoxes[11]]);
  });

  it('escapes the image URL and the label, and carries no control characters', () => {
    const svg = renderAttentionOverlay({
      image: { href: 'https://example.test/a.png?x="1"&y=<2>' },
      layout,
      insertion,
      label: 'step "1" <script>alert(1)</script>\u0000\u0007\r\u009b\u007f',
    });
    expectWellFormed(svg);
    expect(svg).toContain('href="https://example.test/a.png?x=&quot;1&quot;&amp;y=&lt;2&gt;"');
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;\u2400\u2407\u240d\ufffd\u2421');
  });

  it('references an image defined once in the page', () => {
    const definition = renderImageDefinition({ id: 'query-image', href: 'data:image/png;base64,AAAA', width: 120, height: 90 });
    expectWellFormed(definition);
    expect(elements(definition, 'image')[0]).toMatchObject({ id: 'query-image', href: 'data:image/png;base64,AAAA', width: '120', height: '90' });
    const svg = renderAttentionOverlay({ image: { ref: 'query-image' }, layout, insertion });
    expect(svg).toContain('<use href="#query-image"/>');
    expect(svg).not.toContain('<image');
  });

  it('rejects a row or a selection that does not fit the layout with OptionErrors', () => {
    const render = (attention: number[] | null, selected: number[]) => () => renderAttentionOverlay({ image: { href: 'x.png' }, layout, insertion: { attention, selected } });
    expect(render(attention.slice(1), [0])).toThrow(OptionError);
    expect(render(attention.slice(1), [0])).toThrow(/11 scores, but the image has 12 patches/);
    expect(render(attention, [12])).toThrow(/patch 12, outside 0..11/);
    expect(render(null, [1.5])).toThrow(OptionError);
    expect(() => renderAttentionOverlay({ image: { href: 'x.png' }, layout: { ...layout, patchBoxes: layout.patchBoxes.slice(1) }, insertion })).toThrow(/11 patch boxes for 12 patches/);
    expect(() => renderAttentionOverlay({ image: { href: 'x.png' }, layout, insertion, opacity: 2 })).toThrow(OptionError);
  });

  it('draws a tiled image as its tiles plus the global view at half size beside it: every patch exactly once', async () => {
    const model = createToyModel({ grid: { rows: 2, cols: 2 }, tiles: { rows: 2, cols: 2 } });
    const tiled = imageLayout(await model.encodeImage(createTestImage(80, 60)));
    expect(tiled.patchCount).toBe(20); // 4 tiles and the global view, 2 x 2 patches each
    const row = Array.from({ length: 20 }, (_, i) => (i * 7) % 20);
    const svg = renderAttentionOverlay({ image: { href: 'x.png' }, layout: tiled, insertion: { attention: row, selected: [0, 19] } });
    expectWellFormed(svg);
    const cellsOf = (html: string) => elements(html, 'rect').filter((r) => r['class'] === 'cell').map((r) => Number(r['data-patch']));
    const all = cellsOf(svg);
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const [tilesPanel, globalPanel] = svg.split('<g class="panel"').slice(1);
    expect(cellsOf(tilesPanel!)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(cellsOf(globalPanel!)).toEqual([16, 17, 18, 19]);
    expect(globalPanel).toMatch(/^ transform="translate\(83\.2 [\d.]+\) scale\(0\.5\)"/);
    expect(svg).toContain('>4 tiles</text>');
    expect(svg).toContain('>global view</text>');
    expect(elements(group(tilesPanel!, 'tiles'), 'rect').map(boxOf)).toEqual(tiled.tiles.slice(0, 4).map((t) => t.box));
    expect(svg).toContain('patch 19 (global view, row 1, col 1)');
    expect(svg).toContain('patch 5 (tile 1, row 0, col 1)');
    expect(elements(group(globalPanel!, 'outline'), 'rect').map(boxOf)).toEqual([tiled.patchBoxes[19]]);
    expect(svg).toMatch(/viewBox="0 0 123\.2 [\d.]+"/); // 80 + a 4 % gap + 40
  });

  it('draws an image of only a global view like a single-grid one', async () => {
    const model = createToyModel({ grid: { rows: 3, cols: 3 }, tiles: { rows: 1, cols: 1, global: false } });
    const single = imageLayout(await model.encodeImage(createTestImage(30, 30)));
    const onlyGlobal: ImageLayout = { ...single, tiles: [{ ...single.tiles[0]!, place: 'global' }] };
    const svg = renderAttentionOverlay({ image: { href: 'x.png' }, layout: onlyGlobal, insertion: { attention: new Array<number>(9).fill(1), selected: [4] } });
    expect(svg).toContain('viewBox="0 0 30 30"');
    expect(svg).not.toContain('<text');
    expect(svg.split('<g class="panel"')).toHaveLength(2);
  });
});

describe('renderAttentionLegend', () => {
  it('draws the colour bar from the row minimum to its maximum, and says how it is normalised', () => {
    const svg = renderAttentionLegend({ attention: [0.004, 0.25, 0.0123456] });
    expectWellFormed(svg);
    expect(svg).toContain('width="480" height="50"');
    expect(svg).toContain('>min 0.004</text>');
    expect(svg).toContain('>max 0.25</text>');
    expect(svg).toContain("linear from this insertion's min to max");
    expect(svg).toContain('selected patch');
    const bar = elements(svg, 'rect').filter((r) => r['y'] === '20' && r['fill'] !== 'none');
    expect(bar).toHaveLength(64);
    expect(bar[0]!['fill']).toBe(attentionColor(0));
    expect(bar.at(-1)!['fill']).toBe(attentionColor(1));
    expect(Number(bar.at(-1)!['x']) + Number(bar.at(-1)!['width'])).toBeCloseTo(478.4, 1);
  });

  it('says when there is no attention, and refuses a width it cannot fit', () => {
    expect(renderAttentionLegend({ attention: null })).toContain('no attention recorded (the selector used none)');
    expect(renderAttentionLegend({ attention: [Number.NaN] })).toContain('no finite attention score');
    expect(() => renderAttentionLegend({ attention: [1], width: 100 })).toThrow(OptionError);
  });
});

describe('renderSelectionOverlay', () => {
  it("outlines each group's patches in its colour, with the group on hover", () => {
    const layout = gridLayout(2, 2, 10);
    const svg = renderSelectionOverlay({
      image: { href: 'x.png' },
      layout,
      groups: [
        { selected: [0, 3], color: '#e6194b', label: 'insertion 1' },
        { selected: [1], color: 'rgb(1,2,3)" onload="x', label: 'insertion <2>' },
      ],
    });
    expectWellFormed(svg);
    const groups = [...svg.matchAll(/<g class="group" fill="([^"]*)"[^>]*>([\s\S]*?)<\/g>/g)];
    expect(groups.map((g) => g[1])).toEqual(['#e6194b', 'rgb(1,2,3)&quot; onload=&quot;x']);
    expect(elements(groups[0]![2]!, 'rect').map(boxOf)).toEqual([layout.patchBoxes[0], layout.patchBoxes[3]]);
    expect(svg).toContain('<title>insertion &lt;2&gt;: patch 1 (row 0, col 1)</title>');
    expect(() => renderSelectionOverlay({ image: { href: 'x.png' }, layout, groups: [{ selected: [4], color: 'red', label: 'x' }] })).toThrow(OptionError);
  });
});

describe('helpers', () => {
  it('attentionRange, normalizeAttention and formatScore', () => {
    expect(attentionRange([0.3, Number.NaN, 0.1, 0.2])).toEqual({ min: 0.1, max: 0.3 });
    expect(attentionRange([])).toBeNull();
    expect(normalizeAttention(0.2, { min: 0.1, max: 0.3 })).toBeCloseTo(0.5, 12);
    expect(normalizeAttention(5, { min: 5, max: 5 })).toBe(0.5);
    expect(formatScore(0.000123456)).toBe('0.0001235');
    expect(formatScore(1.23456e-9)).toBe('1.235e-9');
    expect(formatScore(Number.NaN)).toBe('NaN');
  });

  it('escapeXml escapes markup and replaces C0/C1 controls except tab and line feed', () => {
    expect(escapeXml(`a&b<c>"d"'e'`)).toBe('a&amp;b&lt;c&gt;&quot;d&quot;&#39;e&#39;');
    expect(replaceControlCharacters('tab\tline\nnul\u0000bell\u0007cr\r esc\u001b del\u007f csi\u009b nel\u0085 ok\u00a0')).toBe(
      'tab\tline\nnul\u2400bell\u2407cr\u240d esc\u241b del\u2421 csi\ufffd nel\ufffd ok\u00a0',
    );
  });
});
