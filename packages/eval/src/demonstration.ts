/**
 * ICoT's one-shot demonstration: M3CoT train record `physical-commonsense-1426` with its rationale
 * split into three steps, each tied to a region of the demonstration image (jungao1106/ICoT
 * `run.py` `TRAING_CASE_1` and `mcot_induct`; `qwen2_vl/icot_qwen_utils.py` `mcot_induct_0..4`),
 * and the mapping of those regions onto a model's patch grid.
 * @module
 */

/** A region of a patch grid: inclusive 0-based row and column ranges (the region syntax's). */
export interface GridRegion {
  readonly rows: readonly [number, number];
  readonly cols: readonly [number, number];
}

/** One step of the demonstration's rationale and the image region it is about. */
export interface DemonstrationStep {
  /** The step's text as ICoT's Qwen2-VL code writes it (`mcot_induct_1..3`; the first starts with "Let's think step by step.\n"). */
  readonly text: string;
  /** The step's text as ICoT's Chameleon code writes it (`mcot_induct`, after the region tag). */
  readonly chameleonText: string;
  /**
   * The region on Chameleon's 32 x 32 token grid of the center-cropped image, as `run.py` writes it
   * (`<imageR0-R1-C0-C1>`: rows R0 to R1 and columns C0 to C1, end exclusive, `processing_chameleon.py`).
   */
  readonly chameleonRegion: { readonly rows: readonly [number, number]; readonly cols: readonly [number, number] };
}

/** The demonstration record and its interleaved rationale. */
export interface Demonstration {
  /** M3CoT id: the image is `images/<id>.png` of an M3CoT folder. */
  readonly id: string;
  readonly question: string;
  readonly choices: readonly string[];
  /** The answer letter. */
  readonly answer: string;
  /** M3CoT's rationale (the text-only CoT demonstration). */
  readonly rationale: string;
  readonly steps: readonly DemonstrationStep[];
}

/**
 * ICoT's demonstration, as its code spells it out (`TRAING_CASE_1` in `run.py` and
 * `qwen2_vl/icot_qwen_utils.py`; the region tags of `mcot_induct` in `run.py`).
 */
export const ICOT_DEMONSTRATION: Demonstration = {
  id: 'physical-commonsense-1426',
  question: 'What general conclusion can you draw about this kitchen?',
  choices: ['This is the kitchen of a restaurant', 'The equipment in front has not been cleaned for a long time', 'Someone searched in this kitchen', 'All options are correct'],
  answer: 'D',
  rationale:
    'First, the image shows large ovens in a kitchen area that indicates it is a kitchen of a restaurant.\nTherefore, option A is correct.\nSecond, there are grease stains on the front of appliances which are indicative of not being cleaned in a while.\nSo option B is correct answer.\nThird, cabinet doors are opened up throughout the kitchen which shows someone was searching for something.\nSo option C is incorrect.\nTherefore, we can infer that option A, B and C are all correct.\nSo, option "(D) All options are correct" is correct answer.',
  steps: [
    {
      text: "Let's think step by step.\nFirst, the image shows large ovens in a kitchen area that indicates it is a kitchen of a restaurant. Therefore, option A is correct.",
      chameleonText: 'First, the image shows large ovens in a kitchen area that indicates it is a kitchen of a restaurant. Therefore, option A is correct.',
      chameleonRegion: { rows: [11, 21], cols: [0, 11] },
    },
    {
      text: 'Second, there are grease stains on the front of appliances which are indicative of not being cleaned in a while. So option B is correct answer.',
      chameleonText: 'Second, there are grease stains on the front of appliances which are indicative of not being cleaned in a while. So option B is correct answer.',
      chameleonRegion: { rows: [4, 10], cols: [23, 29] },
    },
    {
      text: 'Third, cabinet doors are opened up throughout the kitchen which shows someone was searching for something. So option C is incorrect. Therefore, we can infer that option A, B and C are all correct.',
      chameleonText: 'Third, cabinet doors are opened up throughout the kitchen which shows someone was searching for something. So option C is incorrect. Therefore, we can infer that option A, B and C are all correct.',
      chameleonRegion: { rows: [21, 32], cols: [1, 9] },
    },
  ],
};

/** Chameleon's token grid: 32 x 32 tokens of the 512 x 512 center crop. */
const CHAMELEON_GRID = 32;

/** How a model's patch grid covers the demonstration image, for {@link demonstrationRegions}. */
export interface DemonstrationImageGrid {
  /** The model's patch grid of the demonstration image. */
  readonly grid: { readonly rows: number; readonly cols: number };
  /** The image's size in pixels. */
  readonly width: number;
  readonly height: number;
  /**
   * `center-crop`: the grid covers the image's central square, as Chameleon's processor crops it
   * (shortest edge resized, then center-cropped); `whole`: the grid covers the whole image
   * (Qwen2-VL, LLaVA ...).
   */
  readonly coverage: 'center-crop' | 'whole';
}

function cells(start: number, end: number, count: number): [number, number] {
  const first = Math.min(count - 1, Math.max(0, Math.floor(start * count)));
  const last = Math.min(count - 1, Math.max(first, Math.ceil(end * count) - 1));
  return [first, last];
}

/**
 * The demonstration's regions on a model's patch grid, as region-syntax ranges (inclusive). On a
 * 32 x 32 center-crop grid (Chameleon-7B) they are exactly `run.py`'s tags; on other center-crop grids
 * they are scaled; on grids that cover the whole image the cropped square is placed in the image
 * (centered, side = the shorter edge) and every patch the region's box touches is taken. ICoT's
 * Qwen2-VL code uses separate crop images for these steps, which it does not publish
 * (`./path/to/icot_image_0.png` ...), so on such models the regions are this mapping of the
 * Chameleon ones.
 */
export function demonstrationRegions(target: DemonstrationImageGrid, demonstration: Demonstration = ICOT_DEMONSTRATION): GridRegion[] {
  const { rows, cols } = target.grid;
  return demonstration.steps.map(({ chameleonRegion: r }) => {
    if (target.coverage === 'center-crop')
      return { rows: cells(r.rows[0] / CHAMELEON_GRID, r.rows[1] / CHAMELEON_GRID, rows), cols: cells(r.cols[0] / CHAMELEON_GRID, r.cols[1] / CHAMELEON_GRID, cols) };
    const side = Math.min(target.width, target.height);
    const left = (target.width - side) / 2;
    const top = (target.height - side) / 2;
    const y0 = (top + (r.rows[0] / CHAMELEON_GRID) * side) / target.height;
    const y1 = (top + (r.rows[1] / CHAMELEON_GRID) * side) / target.height;
    const x0 = (left + (r.cols[0] / CHAMELEON_GRID) * side) / target.width;
    const x1 = (left + (r.cols[1] / CHAMELEON_GRID) * side) / target.width;
    return { rows: cells(y0, y1, rows), cols: cells(x0, x1, cols) };
  });
}

/** A region tag of image `image` (1-based): `<region image=N rows=A-B cols=C-D>`. */
export function regionTag(image: number, region: GridRegion): string {
  return `<region image=${image} rows=${region.rows[0]}-${region.rows[1]} cols=${region.cols[0]}-${region.cols[1]}>`;
}
