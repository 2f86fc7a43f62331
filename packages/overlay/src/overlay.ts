import { OptionError, type Box, type ImageLayout, type InsertionRecord } from '@icot/core';
import { attentionColor } from './colormap.js';
import { escapeXml } from './escape.js';

/**
 * The picture under an overlay: a URL embedded as `<image href>` (a `data:` URL keeps a page
 * self-contained), or the `id` of an `<image>` defined once in the page with
 * {@link renderImageDefinition} (a page with many figures of one image then carries its bytes once).
 */
export type OverlayImageSource = { readonly href: string } | { readonly ref: string };

/** What an overlay draws of one insertion: its attention row (null: outlines only) and its selected patches. */
export type OverlayInsertion = Pick<InsertionRecord, 'attention' | 'selected'>;

/** Options of {@link renderAttentionOverlay}. */
export interface AttentionOverlayOptions {
  readonly image: OverlayImageSource;
  /** Where the patches are: `ICoTResult.queryImage` (or `imageLayout(image)` from `@icot/core`). */
  readonly layout: ImageLayout;
  readonly insertion: OverlayInsertion;
  /** Opacity of the heatmap over the image, 0..1 (default 0.6). */
  readonly opacity?: number;
  /** Accessible name of the figure (`aria-label` and the SVG's own `<title>`). */
  readonly label?: string;
}

/** One set of patches to outline in {@link renderSelectionOverlay} (e.g. one insertion's). */
export interface SelectionGroup {
  readonly selected: readonly number[];
  /** A CSS colour. */
  readonly color: string;
  /** Shown on hover, before the patch (e.g. `insertion 2`). */
  readonly label: string;
}

/** Options of {@link renderSelectionOverlay}. */
export interface SelectionOverlayOptions {
  readonly image: OverlayImageSource;
  readonly layout: ImageLayout;
  readonly groups: readonly SelectionGroup[];
  /** Accessible name of the figure. */
  readonly label?: string;
}

/** Smallest and largest finite value of an attention row. */
export interface AttentionRange {
  readonly min: number;
  readonly max: number;
}

/** The range {@link renderAttentionOverlay} normalises a row to; null when it has no finite value. */
export function attentionRange(row: ArrayLike<number>): AttentionRange | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : null;
}

/** `value` normalised to [0, 1] over `range`, linearly (a row with one value throughout: 0.5). */
export function normalizeAttention(value: number, range: AttentionRange): number {
  if (!Number.isFinite(value)) return 0;
  const span = range.max - range.min;
  return span > 0 ? (value - range.min) / span : 0.5;
}

/** A score as shown on hover: 4 significant digits. */
export function formatScore(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}

/**
 * A hidden SVG that defines the image once for the whole page (`id` must be unique in it); pass
 * `{ ref: id }` as the image of the overlays that show it.
 */
export function renderImageDefinition(options: { readonly id: string; readonly href: string; readonly width: number; readonly height: number }): string {
  return (
    `<svg width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false"><defs>` +
    `<image id="${escapeXml(options.id)}" href="${escapeXml(options.href)}" x="0" y="0" width="${num(options.width)}" height="${num(options.height)}" preserveAspectRatio="none"/>` +
    `</defs></svg>`
  );
}

/**
 * One insertion drawn over its image, as an SVG string (no DOM, no Node APIs): every patch of
 * the query image filled with the colour of its attention score (the colour map of
 * `attentionColor`, normalised linearly from the row's minimum to its maximum, so each insertion
 * uses the whole ramp - say so next to it, e.g. with {@link renderAttentionLegend}), the selected
 * patches outlined (white over black, legible on any colour), and on hover each patch's index,
 * cell, score and rank. Coordinates are the original image's pixels; size the SVG with CSS
 * (`width: 100%`). Without an attention row, the patches carry hover titles but no colour.
 *
 * Tiled images (tiles plus a downscaled global view, e.g. SmolVLM): their patch boxes overlap,
 * since every global-view patch covers the area of several tile patches. The image is drawn with
 * the tiles' patches (the finest boxes) and tile borders, and each global view again at half size
 * to its right with its own patches, so every patch has exactly one cell. An image of only a
 * global view is drawn like a single-grid one.
 */
export function renderAttentionOverlay(options: AttentionOverlayOptions): string {
  const { layout, insertion } = options;
  checkLayout(layout);
  const selected = checkSelected(insertion.selected, layout.patchCount, 'insertion.selected');
  const row = insertion.attention;
  if (row && row.length !== layout.patchCount)
    throw new OptionError(`The attention row has ${row.length} scores, but the image has ${layout.patchCount} patches.`, {
      hint: "Pass the insertion's `attention` with the layout of the same run (`result.queryImage`).",
    });
  const opacity = options.opacity ?? 0.6;
  if (!(opacity >= 0 && opacity <= 1)) throw new OptionError(`opacity must be within 0..1, got ${opacity}.`, { hint: 'Use e.g. 0.6.' });
  const range = row ? attentionRange(row) : null;
  const ranks = row ? rankOf(row) : null;
  const chosen = new Set(selected);
  const label = options.label ?? (row ? 'Attention over the image, selected patches outlined' : 'Selected patches');
  return renderFigure(options.image, layout, label, (panel) => {
    const cells: string[] = [];
    const outlined: Box[] = [];
    for (const i of panel.patches) {
      const box = layout.patchBoxes[i]!;
      const score = row ? row[i]! : undefined;
      const title =
        `patch ${i} (${describeCell(layout, i)})` +
        (score !== undefined ? ` · attention ${formatScore(score)}, rank ${ranks![i]} of ${layout.patchCount}` : '') +
        (chosen.has(i) ? ' · selected' : '');
      const fill = score !== undefined && range ? attentionColor(normalizeAttention(score, range)) : '#000';
      cells.push(`<rect class="cell" data-patch="${i}" ${rectAttributes(box)} fill="${fill}"><title>${escapeXml(title)}</title></rect>`);
      if (chosen.has(i)) outlined.push(box);
    }
    const outline = (stroke: string, strokeWidth: number, className: string) =>
      `<g class="${className}" fill="none" stroke="${stroke}" stroke-width="${strokeWidth}" pointer-events="none">` +
      outlined.map((box) => `<rect vector-effect="non-scaling-stroke" ${rectAttributes(box)}/>`).join('') +
      '</g>';
    return {
      // a transparent cell still takes hover (pointer events follow the fill property, not its opacity)
      under: `<g class="heatmap" fill-opacity="${row ? num(opacity) : '0'}" shape-rendering="crispEdges">${cells.join('')}</g>`,
      // white over black reads on dark and light cells alike; no pointer events, so hovering reaches the cell below
      over: outline('#000', 4, 'outline-halo') + outline('#fff', 2, 'outline'),
    };
  });
}

/**
 * Several sets of selected patches over one image (e.g. every insertion of a run, one colour
 * each), as an SVG string: each patch filled lightly and outlined in its group's colour, with the
 * group's label, the patch and its cell on hover. Tiled images are drawn as in
 * {@link renderAttentionOverlay}.
 */
export function renderSelectionOverlay(options: SelectionOverlayOptions): string {
  const { layout } = options;
  checkLayout(layout);
  const groups = options.groups.map((group, g) => ({ ...group, selected: new Set(checkSelected(group.selected, layout.patchCount, `groups[${g}].selected`)) }));
  return renderFigure(options.image, layout, options.label ?? 'Selected patches', (panel) => {
    const parts: string[] = [];
    for (const group of groups) {
      const color = escapeXml(group.color);
      const rects = panel.patches
        .filter((i) => group.selected.has(i))
        .map((i) => `<rect data-patch="${i}" vector-effect="non-scaling-stroke" ${rectAttributes(layout.patchBoxes[i]!)}><title>${escapeXml(`${group.label}: patch ${i} (${describeCell(layout, i)})`)}</title></rect>`);
      if (rects.length) parts.push(`<g class="group" fill="${color}" fill-opacity="0.25" stroke="${color}" stroke-width="2">${rects.join('')}</g>`);
    }
    return { under: '', over: parts.join('') };
  });
}

/** Options of {@link renderAttentionLegend}. */
export interface AttentionLegendOptions {
  /** The insertion's attention row (null: a legend for outlines only). */
  readonly attention: ArrayLike<number> | null;
  /** Width in CSS pixels (default 480). */
  readonly width?: number;
}

/**
 * The legend of one {@link renderAttentionOverlay} figure, as an SVG string of fixed pixel size:
 * the colour bar with the row's minimum and maximum at its ends, how it is normalised (linearly,
 * per insertion), and the outline of a selected patch.
 */
export function renderAttentionLegend(options: AttentionLegendOptions): string {
  const width = options.width ?? 480;
  if (!(width >= 200)) throw new OptionError(`The legend needs a width of at least 200 px, got ${width}.`, { hint: 'Use e.g. 480.' });
  const range = options.attention ? attentionRange(options.attention) : null;
  const font = 'font-family="system-ui,sans-serif" font-size="12" fill="#333"';
  const swatch =
    `<rect x="1.5" y="1.5" width="15" height="15" fill="#888" stroke="#000" stroke-width="4"/><rect x="1.5" y="1.5" width="15" height="15" fill="none" stroke="#fff" stroke-width="2"/>` +
    `<text x="24" y="13" ${font}>selected patch</text>`;
  if (!range) {
    const text = options.attention ? 'no finite attention score' : 'no attention recorded (the selector used none)';
    return `<svg class="icot-attention-legend" width="${width}" height="20" viewBox="0 0 ${width} 20" role="img" aria-label="${escapeXml(`Legend: ${text}`)}">${swatch}<text x="130" y="13" ${font}>${escapeXml(text)}</text></svg>`;
  }
  const barX = 2;
  const barWidth = width - 4;
  const steps = 64;
  const bar = Array.from({ length: steps }, (_, k) => {
    const x0 = barX + (barWidth * k) / steps;
    const x1 = barX + (barWidth * (k + 1)) / steps;
    return `<rect x="${num(x0)}" y="20" width="${num(x1 - x0 + 0.4)}" height="12" fill="${attentionColor(k / (steps - 1))}"/>`;
  }).join('');
  const description = `Legend: attention from ${formatScore(range.min)} (dark) to ${formatScore(range.max)} (light), normalised linearly per insertion; outlined: selected patches`;
  return (
    `<svg class="icot-attention-legend" width="${width}" height="50" viewBox="0 0 ${width} 50" role="img" aria-label="${escapeXml(description)}">` +
    swatch +
    `<text x="${width - 2}" y="13" text-anchor="end" ${font}>colour: attention, linear from this insertion's min to max</text>` +
    `<g shape-rendering="crispEdges">${bar}</g><rect x="${barX}" y="20" width="${barWidth}" height="12" fill="none" stroke="#999" stroke-width="0.5"/>` +
    `<text x="${barX}" y="46" ${font}>min ${escapeXml(formatScore(range.min))}</text>` +
    `<text x="${barX + barWidth}" y="46" text-anchor="end" ${font}>max ${escapeXml(formatScore(range.max))}</text>` +
    `</svg>`
  );
}

// ---------------------------------------------------------------------------------------------

/** A part of the figure: which patches it draws, where (translate, scale), and its caption. */
interface Panel {
  readonly patches: readonly number[];
  /** Tile boxes to outline thinly (the tiles of a tiled image). */
  readonly tileBoxes: readonly Box[];
  readonly x: number;
  readonly y: number;
  readonly scale: number;
  readonly caption: string | undefined;
}

const INSET_SCALE = 0.5;

/** The panels of a layout and the figure's size (see {@link renderAttentionOverlay} for tiled images). */
function panelsOf(layout: ImageLayout): { readonly panels: readonly Panel[]; readonly width: number; readonly height: number } {
  const { width: W, height: H } = layout.size;
  const range = (first: number, count: number) => Array.from({ length: count }, (_, k) => first + k);
  const patchesOf = (t: number) => {
    const tile = layout.tiles[t]!;
    return range(tile.firstPatch, tile.grid.rows * tile.grid.cols);
  };
  const tileIndices = layout.tiles.map((_, t) => t);
  const local = tileIndices.filter((t) => layout.tiles[t]!.place !== 'global');
  const global = tileIndices.filter((t) => layout.tiles[t]!.place === 'global');
  const main = local.length ? local : global.slice(0, 1);
  const insets = local.length ? global : global.slice(1);
  if (main.length === 0) return { panels: [{ patches: range(0, layout.patchCount), tileBoxes: [], x: 0, y: 0, scale: 1, caption: undefined }], width: W, height: H };
  if (insets.length === 0) {
    const tileBoxes = main.length > 1 ? main.map((t) => layout.tiles[t]!.box) : [];
    return { panels: [{ patches: main.flatMap(patchesOf), tileBoxes, x: 0, y: 0, scale: 1, caption: undefined }], width: W, height: H };
  }
  const gap = 0.04 * W;
  const width = W + gap + W * INSET_SCALE;
  const captionHeight = width * 0.045;
  const panels: Panel[] = [
    { patches: main.flatMap(patchesOf), tileBoxes: main.length > 1 ? main.map((t) => layout.tiles[t]!.box) : [], x: 0, y: captionHeight, scale: 1, caption: main.length > 1 ? `${main.length} tiles` : 'tile' },
  ];
  insets.forEach((t, k) => {
    panels.push({ patches: patchesOf(t), tileBoxes: [], x: W + gap, y: captionHeight + k * (H * INSET_SCALE + captionHeight), scale: INSET_SCALE, caption: 'global view' });
  });
  const height = Math.max(captionHeight + H, insets.length * (H * INSET_SCALE + captionHeight));
  return { panels, width, height };
}

/** What a figure draws in one panel: over the picture and under the tile borders, and over those. */
interface PanelDrawing {
  readonly under: string;
  readonly over: string;
}

function renderFigure(image: OverlayImageSource, layout: ImageLayout, label: string, drawPanel: (panel: Panel) => PanelDrawing): string {
  const { panels, width, height } = panelsOf(layout);
  const { width: W, height: H } = layout.size;
  const picture =
    'ref' in image
      ? `<use href="#${escapeXml(image.ref)}"/>`
      : `<image href="${escapeXml(image.href)}" x="0" y="0" width="${num(W)}" height="${num(H)}" preserveAspectRatio="none"/>`;
  const fontSize = width * 0.03;
  const body = panels
    .map((panel) => {
      const transform = panel.scale === 1 ? (panel.y ? ` transform="translate(${num(panel.x)} ${num(panel.y)})"` : '') : ` transform="translate(${num(panel.x)} ${num(panel.y)}) scale(${panel.scale})"`;
      const tiles = panel.tileBoxes.length
        ? `<g class="tiles" fill="none" stroke="#fff" stroke-opacity="0.7" stroke-width="1" stroke-dasharray="4 3" pointer-events="none">${panel.tileBoxes.map((b) => `<rect vector-effect="non-scaling-stroke" ${rectAttributes(b)}/>`).join('')}</g>`
        : '';
      const caption = panel.caption
        ? `<text x="${num(panel.x)}" y="${num(panel.y - fontSize * 0.45)}" font-family="system-ui,sans-serif" font-size="${num(fontSize)}" fill="#333">${escapeXml(panel.caption)}</text>`
        : '';
      const drawing = drawPanel(panel);
      return `${caption}<g class="panel"${transform}>${picture}${drawing.under}${tiles}${drawing.over}</g>`;
    })
    .join('');
  return `<svg class="icot-overlay" viewBox="0 0 ${num(width)} ${num(height)}" role="img" aria-label="${escapeXml(label)}"><title>${escapeXml(label)}</title>${body}</svg>`;
}

/** Where patch `i` is, for hover text: its row and column (and tile, on a tiled image). */
function describeCell(layout: ImageLayout, index: number): string {
  const tiles = layout.tiles;
  let t = tiles.length - 1;
  while (t > 0 && tiles[t]!.firstPatch > index) t--;
  const tile = tiles[t];
  if (!tile) return `patch ${index}`;
  const within = index - tile.firstPatch;
  const where = `row ${Math.floor(within / tile.grid.cols)}, col ${within % tile.grid.cols}`;
  if (tiles.length === 1) return where;
  return `${tile.place === 'global' ? 'global view' : `tile ${t}`}, ${where}`;
}

/** 1-based rank of each score in the row, highest first (ties share the better rank). */
function rankOf(row: readonly number[]): Int32Array {
  const order = Array.from(row, (_, i) => i).sort((a, b) => rankValue(row[b]!) - rankValue(row[a]!));
  const ranks = new Int32Array(row.length);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const previous = k > 0 ? order[k - 1]! : -1;
    ranks[i] = previous >= 0 && rankValue(row[previous]!) === rankValue(row[i]!) ? ranks[previous]! : k + 1;
  }
  return ranks;
}

const rankValue = (v: number): number => (Number.isNaN(v) ? -Infinity : v);

function rectAttributes(box: Box): string {
  return `x="${num(box.x)}" y="${num(box.y)}" width="${num(box.width)}" height="${num(box.height)}"`;
}

/** A coordinate as SVG text: at most 2 decimals. */
function num(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

function checkLayout(layout: ImageLayout): void {
  const { width, height } = layout.size;
  if (!(width > 0 && height > 0)) throw new OptionError(`The image layout has size ${width}x${height}.`, { hint: 'Pass the layout of a run (`result.queryImage`).' });
  if (layout.patchBoxes.length !== layout.patchCount)
    throw new OptionError(`The image layout has ${layout.patchBoxes.length} patch boxes for ${layout.patchCount} patches.`, {
      hint: 'Pass the layout of a run (`result.queryImage`) or `imageLayout(image)` from @icot/core.',
    });
}

function checkSelected(selected: readonly number[], patchCount: number, what: string): readonly number[] {
  for (const i of selected)
    if (!Number.isInteger(i) || i < 0 || i >= patchCount)
      throw new OptionError(`${what} holds patch ${i}, outside 0..${patchCount - 1}.`, { hint: 'Pass patch indices of the image the layout describes.' });
  return selected;
}
