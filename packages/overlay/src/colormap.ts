/**
 * The attention colour map: a perceptually uniform ramp computed here in OKLab (Björn Ottosson,
 * "A perceptual color space for image processing", https://bottosson.github.io/posts/oklab/ - the
 * matrices below are that post's), designed after viridis: lightness rising from dark blue-violet
 * through teal and green to yellow, so higher attention is always lighter (it reads in grey scale
 * and for the common colour-vision deficiencies), with equal OKLab distances between neighbouring
 * entries. sRGB encoding as IEC 61966-2-1.
 * @module
 */

/** An sRGB colour, each channel 0..255. */
export type Rgb = readonly [r: number, g: number, b: number];

/** An OKLab colour: lightness L (0..1) and the opponent axes a, b. */
export type Oklab = readonly [L: number, a: number, b: number];

/** Number of entries of {@link ATTENTION_COLORMAP}. */
export const ATTENTION_COLORMAP_SIZE = 256;

/** Linear-light sRGB (0..1, unclipped) of an OKLab colour. */
export function oklabToLinearSrgb([L, a, b]: Oklab): [number, number, number] {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
  ];
}

/** OKLab of an sRGB colour (channels 0..255). */
export function srgbToOklab([R, G, B]: Rgb): Oklab {
  const linear = (v: number): number => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const r = linear(R);
  const g = linear(G);
  const b = linear(B);
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s, 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s, 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s];
}

/** sRGB-encode one linear channel to 0..255 (clipped). */
function encode(v: number): number {
  const c = Math.min(1, Math.max(0, v));
  return Math.round(255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055));
}

/**
 * The ramp's design curve, `u` in [0, 1]: lightness linear from 0.28 to 0.92, hue turning from
 * -42 deg (blue-violet) to -258 deg (yellow, = 102 deg), chroma 0.12 -> ~0.09 (teal, where the
 * sRGB gamut is narrowest) -> 0.17. Every point lies inside the sRGB gamut (tested), so nothing
 * is clipped.
 */
export function attentionRampDesign(u: number): Oklab {
  const L = 0.28 + 0.64 * u;
  const hue = ((-42 - 216 * u) * Math.PI) / 180;
  const chroma = 0.12 - 0.1567 * u + 0.2067 * u * u;
  return [L, chroma * Math.cos(hue), chroma * Math.sin(hue)];
}

/** The design curve resampled at equal OKLab arc length: {@link ATTENTION_COLORMAP_SIZE} entries. */
function buildColormap(): { readonly oklab: readonly Oklab[]; readonly rgb: readonly Rgb[] } {
  const samples = 4096;
  const curve = Array.from({ length: samples + 1 }, (_, i) => attentionRampDesign(i / samples));
  const length = new Float64Array(samples + 1);
  for (let i = 1; i <= samples; i++) {
    const p = curve[i - 1]!;
    const q = curve[i]!;
    length[i] = length[i - 1]! + Math.hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]);
  }
  const total = length[samples]!;
  const oklab: Oklab[] = [];
  let j = 0;
  for (let k = 0; k < ATTENTION_COLORMAP_SIZE; k++) {
    const target = (total * k) / (ATTENTION_COLORMAP_SIZE - 1);
    while (j < samples - 1 && length[j + 1]! < target) j++;
    const span = length[j + 1]! - length[j]!;
    const f = span > 0 ? Math.min(1, Math.max(0, (target - length[j]!) / span)) : 0;
    const p = curve[j]!;
    const q = curve[j + 1]!;
    oklab.push([p[0] + (q[0] - p[0]) * f, p[1] + (q[1] - p[1]) * f, p[2] + (q[2] - p[2]) * f]);
  }
  const rgb = oklab.map((lab): Rgb => {
    const [r, g, b] = oklabToLinearSrgb(lab);
    return [encode(r), encode(g), encode(b)];
  });
  return { oklab, rgb };
}

const built = buildColormap();

/** The map's entries in OKLab, before sRGB rounding (low to high attention). */
export const ATTENTION_COLORMAP_OKLAB: readonly Oklab[] = built.oklab;

/** The map's entries as sRGB colours, low to high attention. */
export const ATTENTION_COLORMAP: readonly Rgb[] = built.rgb;

const HEX: readonly string[] = ATTENTION_COLORMAP.map((c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`);

/** The entry of `t` in [0, 1] (clamped; NaN gives the lowest) as `#rrggbb`. */
export function attentionColor(t: number): string {
  const index = Number.isNaN(t) ? 0 : Math.round(Math.min(1, Math.max(0, t)) * (ATTENTION_COLORMAP_SIZE - 1));
  return HEX[index]!;
}
