import type { RgbImage } from '@icot/core';

/** A flat-coloured shape: which pixels it covers, and its colour. */
export interface Shape {
  readonly colour: readonly [number, number, number];
  inside(x: number, y: number): boolean;
}

/** Flat shapes drawn in order over a flat background; `classes[i]` is the index of the shape on top at pixel i (-1: background). */
export function drawShapes(width: number, height: number, background: readonly [number, number, number], shapes: readonly Shape[]): { image: RgbImage; classes: Int32Array } {
  const data = new Uint8Array(width * height * 3);
  const classes = new Int32Array(width * height).fill(-1);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let colour = background;
      shapes.forEach((shape, s) => {
        if (shape.inside(x + 0.5, y + 0.5)) {
          colour = shape.colour;
          classes[i] = s;
        }
      });
      data.set(colour, i * 3);
    }
  return { image: { width, height, data }, classes };
}

export const rect = (x: number, y: number, w: number, h: number, colour: readonly [number, number, number]): Shape => ({ colour, inside: (px, py) => px >= x && px < x + w && py >= y && py < y + h });
export const disk = (cx: number, cy: number, r: number, colour: readonly [number, number, number]): Shape => ({ colour, inside: (px, py) => (px - cx) ** 2 + (py - cy) ** 2 <= r * r });
export const triangle = (x: number, y: number, size: number, colour: readonly [number, number, number]): Shape => ({
  colour,
  // apex up: rows from y to y + size, half-width growing linearly
  inside: (px, py) => py >= y && py < y + size && Math.abs(px - (x + size / 2)) <= ((py - y) / size) * (size / 2),
});

/** A seeded layout of `count` non-overlapping flat shapes (rectangles, disks, triangles) of `minSize..maxSize` pixels across, in saturated colours, over a grey background. */
export function randomShapes(seed: number, width: number, height: number, count: number, minSize: number, maxSize: number): { image: RgbImage; classes: Int32Array; shapes: readonly Shape[] } {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const palette: [number, number, number][] = [
    [220, 30, 30],
    [30, 60, 220],
    [40, 200, 60],
    [240, 220, 40],
    [160, 40, 170],
    [20, 190, 200],
    [250, 140, 20],
    [30, 30, 30],
  ];
  const boxes: { x: number; y: number; size: number }[] = [];
  const shapes: Shape[] = [];
  for (let tries = 0; shapes.length < count && tries < 10_000; tries++) {
    const size = Math.round(minSize + next() * (maxSize - minSize));
    const x = Math.round(next() * (width - size));
    const y = Math.round(next() * (height - size));
    if (boxes.some((b) => x < b.x + b.size + 4 && b.x < x + size + 4 && y < b.y + b.size + 4 && b.y < y + size + 4)) continue;
    boxes.push({ x, y, size });
    const colour = palette[shapes.length % palette.length]!;
    const kind = Math.floor(next() * 3);
    shapes.push(kind === 0 ? rect(x, y, size, size, colour) : kind === 1 ? disk(x + size / 2, y + size / 2, size / 2, colour) : triangle(x, y, size, colour));
  }
  return { ...drawShapes(width, height, [128, 128, 128], shapes), shapes };
}
