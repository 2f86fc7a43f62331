import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '@icot/image';

/** A fixture folder of test/fixtures/. */
export const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A small generated PNG (a gradient whose colours depend on `seed`), as the published images would be. */
export function generatedPng(seed: number, width = 24, height = 16): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 10 + seed * 37) & 255;
      data[i + 1] = (y * 15 + seed * 11) & 255;
      data[i + 2] = (seed * 53) & 255;
    }
  return encodePng({ width, height, data });
}

/**
 * Copy fixture folder `name` to a fresh temporary folder and write a generated PNG at each of
 * `images` (paths relative to the folder). Returns the folder.
 */
export async function layoutFolder(name: string, images: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `icot-eval-${name}-`));
  await cp(fixturePath(name), dir, { recursive: true });
  let seed = 0;
  for (const image of images) {
    const path = join(dir, image);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, generatedPng(seed++));
  }
  return dir;
}
