/**
 * Small SVG charts for the HTML reports, drawn here (no library, no network): lines over
 * categories, grouped bars and a labelled scatter. Values are percentages.
 * @module
 */

/** Okabe and Ito's colour-blind-safe palette (Color Universal Design, 2008), black last. */
export const PALETTE: readonly string[] = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/** The colour of series `i`: the palette, then the palette again at a lighter opacity. */
function seriesColor(i: number): { readonly color: string; readonly opacity: number } {
  return { color: PALETTE[i % PALETTE.length]!, opacity: Math.floor(i / PALETTE.length) % 2 ? 0.5 : 1 };
}

/** Text made safe for XML and HTML, attributes included. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const WIDTH = 680;
const MARGIN = { top: 28, right: 16, left: 56 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = 240;
/** Where the x axis's label and the legend's first row are, below the plot. */
const X_LABEL_Y = MARGIN.top + PLOT_H + 30;
const LEGEND_Y = MARGIN.top + PLOT_H + 48;
const LEGEND_ROW = 14;

const fmt = (n: number): string => (Math.round(n * 100) / 100).toString();

/** Up to about `count` round ticks (steps of 1, 2 or 5 times a power of ten) covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) {
    const pad = Math.abs(low) > 0 ? Math.abs(low) * 0.1 : 1;
    return niceTicks(low - pad, high + pad, count);
  }
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.floor(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(Math.round(t / step) * step);
  if (ticks[ticks.length - 1]! < high) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

function frame(title: string, yLabel: string, xLabel: string, ticks: readonly number[], y: (v: number) => number, body: string, legend: { readonly svg: string; readonly rows: number }): string {
  const height = LEGEND_Y + legend.rows * LEGEND_ROW;
  const grid = ticks
    .map((t) => `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#e3e3e3"/><text x="${MARGIN.left - 6}" y="${fmt(y(t) + 4)}" text-anchor="end">${escapeXml(fmt(t))}</text>`)
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif" font-size="11">` +
    `<title>${escapeXml(title)}</title>` +
    `<text x="${MARGIN.left}" y="16" font-size="13" font-weight="600">${escapeXml(title)}</text>` +
    grid +
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}" stroke="#888"/>` +
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${MARGIN.top + PLOT_H}" y2="${MARGIN.top + PLOT_H}" stroke="#888"/>` +
    `<text transform="translate(14 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>` +
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${X_LABEL_Y}" text-anchor="middle">${escapeXml(xLabel)}</text>` +
    body +
    legend.svg +
    `</svg>`
  );
}

function legendOf(entries: readonly { readonly name: string; readonly color: string; readonly opacity?: number; readonly dashed?: boolean }[]): { svg: string; rows: number } {
  // rows under the plot, a new row when the next entry does not fit
  let x = MARGIN.left;
  let row = 0;
  const svg = entries
    .map((e) => {
      const width = 20 + e.name.length * 6.2 + 14;
      if (x + width > WIDTH - MARGIN.right && x > MARGIN.left) {
        x = MARGIN.left;
        row++;
      }
      const yy = LEGEND_Y + row * LEGEND_ROW;
      const out = `<line x1="${fmt(x)}" x2="${fmt(x + 16)}" y1="${yy - 4}" y2="${yy - 4}" stroke="${e.color}" stroke-width="3"${e.opacity !== undefined && e.opacity < 1 ? ` stroke-opacity="${e.opacity}"` : ''}${e.dashed ? ' stroke-dasharray="4 3"' : ''}/><text x="${fmt(x + 20)}" y="${yy}">${escapeXml(e.name)}</text>`;
      x += width;
      return out;
    })
    .join('');
  return { svg, rows: entries.length ? row + 1 : 0 };
}

function yScale(values: readonly number[]): { ticks: number[]; y: (v: number) => number } {
  // percentages: a little room around the values, never below 0 or above 100
  const low = Math.max(0, Math.floor(minOf(values) - 5));
  const high = Math.max(low + 1, Math.min(100, Math.ceil(maxOf(values) + 5)));
  const ticks = niceTicks(low, high);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  return { ticks, y: (v) => MARGIN.top + PLOT_H - ((v - lo) / (hi - lo)) * PLOT_H };
}

function minOf(values: readonly number[]): number {
  let m = Infinity;
  for (const v of values) if (v < m) m = v;
  return m === Infinity ? 0 : m;
}

function maxOf(values: readonly number[]): number {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m === -Infinity ? 1 : m;
}

/** A line per series over categories on x (e.g. k = 8, 16, 32), with dashed horizontal reference lines. */
export function lineChart(chart: {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly { readonly name: string; readonly values: readonly (number | null)[] }[];
  readonly references?: readonly { readonly name: string; readonly value: number }[];
}): string {
  const all = [...chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null)), ...(chart.references ?? []).map((r) => r.value)];
  const { ticks, y } = yScale(all);
  const step = PLOT_W / Math.max(1, chart.categories.length);
  const x = (i: number): number => MARGIN.left + step * (i + 0.5);
  let body = chart.categories.map((c, i) => `<text x="${fmt(x(i))}" y="${MARGIN.top + PLOT_H + 14}" text-anchor="middle">${escapeXml(c)}</text>`).join('');
  const entries: { name: string; color: string; opacity?: number; dashed?: boolean }[] = [];
  chart.series.forEach((s, si) => {
    const { color, opacity } = seriesColor(si);
    entries.push({ name: s.name, color, opacity });
    const points = s.values.map((v, i) => (v === null ? null : ([x(i), y(v)] as const)));
    // a segment between neighbouring points that both exist
    let path = '';
    points.forEach((p, i) => {
      if (!p) return;
      path += `${points[i - 1] ? 'L' : 'M'}${fmt(p[0])} ${fmt(p[1])}`;
    });
    if (path) body += `<path d="${path}" fill="none" stroke="${color}"${opacity < 1 ? ` stroke-opacity="${opacity}"` : ''} stroke-width="2"/>`;
    points.forEach((p, i) => {
      if (p) body += `<circle cx="${fmt(p[0])}" cy="${fmt(p[1])}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}, ${chart.categories[i]}: ${fmt(s.values[i]!)}`)}</title></circle>`;
    });
  });
  (chart.references ?? []).forEach((r, ri) => {
    const color = PALETTE[(chart.series.length + ri) % PALETTE.length]!;
    entries.push({ name: r.name, color, dashed: true });
    body += `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${fmt(y(r.value))}" y2="${fmt(y(r.value))}" stroke="${color}" stroke-width="1.5" stroke-dasharray="5 4"><title>${escapeXml(`${r.name}: ${fmt(r.value)}`)}</title></line>`;
  });
  return frame(chart.title, chart.yLabel, chart.xLabel, ticks, y, body, legendOf(entries));
}

/** Bars grouped by category (e.g. domains), one bar per series in each group. */
export function barChart(chart: {
  readonly title: string;
  readonly yLabel: string;
  readonly xLabel: string;
  readonly groups: readonly string[];
  readonly series: readonly { readonly name: string; readonly values: readonly (number | null)[] }[];
}): string {
  const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const ticks = niceTicks(0, Math.max(1, Math.min(100, maxOf(values) * 1.1)));
  const hi = ticks[ticks.length - 1]!;
  const y = (v: number): number => MARGIN.top + PLOT_H - (v / hi) * PLOT_H;
  const groupW = PLOT_W / Math.max(1, chart.groups.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, chart.series.length));
  let body = '';
  chart.groups.forEach((g, gi) => {
    const left = MARGIN.left + gi * groupW + groupW * 0.1;
    body += `<text x="${fmt(MARGIN.left + gi * groupW + groupW / 2)}" y="${MARGIN.top + PLOT_H + 14}" text-anchor="middle">${escapeXml(g)}</text>`;
    chart.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || v === undefined) return;
      const { color, opacity } = seriesColor(si);
      body += `<rect x="${fmt(left + si * barW)}" y="${fmt(y(v))}" width="${fmt(barW - 1)}" height="${fmt(MARGIN.top + PLOT_H - y(v))}" fill="${color}"${opacity < 1 ? ` fill-opacity="${opacity}"` : ''} stroke="none"><title>${escapeXml(`${s.name}, ${g}: ${fmt(v)}`)}</title></rect>`;
    });
  });
  return frame(chart.title, chart.yLabel, chart.xLabel, ticks, y, body, legendOf(chart.series.map((s, si) => ({ name: s.name, ...seriesColor(si) }))));
}

/** Labelled points (e.g. inserted tokens per sample against accuracy). */
export function scatterChart(chart: {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: readonly { readonly label: string; readonly x: number; readonly y: number; readonly group: string }[];
}): string {
  const { ticks, y } = yScale(chart.points.map((p) => p.y));
  const xTicks = niceTicks(Math.min(0, minOf(chart.points.map((p) => p.x))), Math.max(1, maxOf(chart.points.map((p) => p.x))));
  const x0 = xTicks[0]!;
  const x1 = xTicks[xTicks.length - 1]!;
  const x = (v: number): number => MARGIN.left + ((v - x0) / (x1 - x0)) * PLOT_W;
  const groups = [...new Set(chart.points.map((p) => p.group))];
  let body = xTicks.map((t) => `<text x="${fmt(x(t))}" y="${MARGIN.top + PLOT_H + 14}" text-anchor="middle">${escapeXml(fmt(t))}</text>`).join('');
  for (const p of chart.points) {
    const color = PALETTE[groups.indexOf(p.group) % PALETTE.length]!;
    body += `<circle cx="${fmt(x(p.x))}" cy="${fmt(y(p.y))}" r="4" fill="${color}"><title>${escapeXml(`${p.label}: ${fmt(p.x)}, ${fmt(p.y)}`)}</title></circle>`;
    const label = p.label.length > 28 ? `${p.label.slice(0, 27)}…` : p.label;
    const right = x(p.x) > MARGIN.left + PLOT_W * 0.7; // near the right edge: the label goes left of the point
    body += `<text x="${fmt(x(p.x) + (right ? -6 : 6))}" y="${fmt(y(p.y) - 5)}" font-size="9" fill="#444"${right ? ' text-anchor="end"' : ''}>${escapeXml(label)}</text>`;
  }
  return frame(chart.title, chart.yLabel, chart.xLabel, ticks, y, body, legendOf(groups.map((g, gi) => ({ name: g, color: PALETTE[gi % PALETTE.length]! }))));
}
