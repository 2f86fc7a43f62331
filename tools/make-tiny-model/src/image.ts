import type { RgbImage } from '@icot/core';

type Rgb = readonly [number, number, number];

/**
 * The demo picture, drawn at any size: a sky gradient over green ground, a red square in the top
 * left corner, a blue circle on the right, a yellow triangle standing on the ground and a white
 * cloud - flat colours with clear edges, so patches differ and selections are easy to see in a
 * report. Everything is placed in fractions of the size, so every family gets the same scene.
 */
export function drawDemoImage(width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 8 || height < 8) throw new RangeError(`drawDemoImage: size ${width} x ${height} is too small`);
  const data = new Uint8Array(width * height * 3);
  const side = Math.min(width, height);
  const inTriangle = (x: number, y: number): boolean => {
    // apex (0.5, 0.5), base from (0.34, 0.9) to (0.66, 0.9), in fractions of width and height
    const v = (y / height - 0.5) / 0.4;
    return v >= 0 && v <= 1 && Math.abs(x / width - 0.5) <= 0.16 * v;
  };
  const colourAt = (x: number, y: number): Rgb => {
    const fx = x / width;
    const fy = y / height;
    if (fx >= 0.08 && fx < 0.36 && fy >= 0.08 && fy < 0.36) return [214, 39, 40]; // red square, top left
    if ((x - 0.72 * width) ** 2 + (y - 0.4 * height) ** 2 <= (0.17 * side) ** 2) return [31, 88, 210]; // blue circle
    if (inTriangle(x, y)) return [245, 197, 24]; // yellow triangle
    if ((x - 0.5 * width) ** 2 / (0.1 * width) ** 2 + (y - 0.16 * height) ** 2 / (0.05 * height) ** 2 <= 1) return [250, 250, 250]; // cloud
    if (fy >= 0.72) return [56, 142, 60]; // ground
    const t = fy / 0.72; // sky: deep blue at the top to pale at the horizon
    return [Math.round(90 + 120 * t), Math.round(160 + 70 * t), Math.round(230 + 20 * t)];
  };
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colourAt(x + 0.5, y + 0.5);
      const i = (y * width + x) * 3;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
    }
  return { width, height, data };
}
