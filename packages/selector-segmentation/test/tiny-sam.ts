import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FLOAT, GraphBuilder, INT64 } from '@icot/testing';

/** Settings of {@link writeTinySam}. */
export interface TinySamOptions {
  /** `sam` (SamModel: SAM, SlimSAM) or `sam2` (Sam2Model: SAM 2 / 2.1). */
  readonly kind: 'sam' | 'sam2';
  /** Side of the square model input, a multiple of 16 (the real models': 1024; default 64). */
  readonly inputSize?: number;
  /** Radii in model-input pixels of the three masks each prompt gives (default 6, 10, 20). */
  readonly radii?: readonly [number, number, number];
  /** The predicted IoU of the three masks (default 0.7, 0.95, 0.8: the middle one is best). */
  readonly iou?: readonly [number, number, number];
  /** Mask logits per model-input pixel of distance from the circle (default 16). */
  readonly sharpness?: number;
}

/**
 * Write a tiny SAM-family model folder in the transformers.js layout, with the real models'
 * input/output contract (names, element types, ranks; sizes scaled down), so that
 * `SamModel`/`Sam2Model.from_pretrained`, the processor's resizing, padding and point rescaling and
 * its `post_process_masks` all run on it:
 *
 * - `onnx/vision_encoder.onnx`: `pixel_values` [B, 3, S, S] -> SAM: `image_embeddings` and
 *   `image_positional_embeddings` [B, 3, S/16, S/16]; SAM 2: `image_embeddings.0/1/2`
 *   [B, 3, S/4, S/4], [B, 3, S/8, S/8], [B, 3, S/16, S/16] (block means of the pixels);
 * - `onnx/prompt_encoder_mask_decoder.onnx`: `input_points` [B, P, N, 2], `input_labels` [B, P, N]
 *   (int64), the embeddings (SAM 2: and `input_boxes` [B, nb, 4]) -> `iou_scores` [B, P, 3],
 *   `pred_masks` [B, P, 3, S/4, S/4] (SAM 2: and `object_score_logits` [B, P, 1]).
 *
 * Its masks are discs: mask m of prompt p has logit `sharpness * (r_m^2 - d^2) / (2 r_m)` at a
 * mask cell whose centre is d model-input pixels from the prompt's first point (about
 * sharpness x the signed distance to the circle), so a prompt at (x, y) of the original image
 * segments the disc of radius r_m x (original / input scale) around it. Its predicted IoUs are
 * the constants `iou`.
 */
export async function writeTinySam(dir: string, options: TinySamOptions): Promise<void> {
  const size = options.inputSize ?? 64;
  if (size % 16 !== 0) throw new Error(`writeTinySam: inputSize must be a multiple of 16, got ${size}`);
  const radii = options.radii ?? [6, 10, 20];
  const iou = options.iou ?? [0.7, 0.95, 0.8];
  const sharpness = options.sharpness ?? 16;
  const embed = size / 16;
  const maskSide = size / 4;
  await mkdir(join(dir, 'onnx'), { recursive: true });

  // vision encoder: block means of the pixels at the real models' feature strides
  const vision = new GraphBuilder('v_');
  const pixels = vision.input('pixel_values', FLOAT, ['batch_size', 3, size, size]);
  const pool = (stride: number) => vision.op('AveragePool', [pixels], [{ name: 'kernel_shape', ints: [stride, stride] }, { name: 'strides', ints: [stride, stride] }]);
  if (options.kind === 'sam') {
    const embeddings = pool(16);
    const grid = Array.from({ length: 3 * embed * embed }, (_, i) => (i % embed) / embed - 0.5);
    vision.output(embeddings, 'image_embeddings', FLOAT, ['batch_size', 3, embed, embed]);
    vision.output(vision.op('Add', [vision.op('Mul', [embeddings, vision.float([0])]), vision.float(grid, [1, 3, embed, embed])]), 'image_positional_embeddings', FLOAT, ['batch_size', 3, embed, embed]);
  } else {
    [4, 8, 16].forEach((stride, level) => vision.output(pool(stride), `image_embeddings.${level}`, FLOAT, ['batch_size', 3, size / stride, size / stride]));
  }
  await writeFile(join(dir, 'onnx', 'vision_encoder.onnx'), vision.build());

  // prompt encoder + mask decoder: discs around each prompt's first point
  const decoder = new GraphBuilder('d_');
  const points = decoder.input('input_points', FLOAT, ['batch_size', 'point_batch_size', 'num_points', 2]);
  decoder.input('input_labels', INT64, ['batch_size', 'point_batch_size', 'num_points']);
  const embeddingNames = options.kind === 'sam' ? ['image_embeddings', 'image_positional_embeddings'] : ['image_embeddings.0', 'image_embeddings.1', 'image_embeddings.2'];
  if (options.kind === 'sam2') decoder.input('input_boxes', FLOAT, ['batch_size', 'num_boxes', 4]);
  const embeddingSides = options.kind === 'sam' ? [embed, embed] : [size / 4, size / 8, size / 16];
  const embeddings = embeddingNames.map((name, i) => decoder.input(name, FLOAT, ['batch_size', 3, embeddingSides[i]!, embeddingSides[i]!]));
  const first = decoder.op('Gather', [points, decoder.int64([0], [])], [{ name: 'axis', int: 2 }]); // [B, P, 2]
  const coordinate = (c: number) => decoder.op('Gather', [first, decoder.int64([c], [])], [{ name: 'axis', int: 2 }]); // [B, P]
  const x = decoder.op('Unsqueeze', [coordinate(0), decoder.int64([2, 3, 4])]); // [B, P, 1, 1, 1]
  const y = decoder.op('Unsqueeze', [coordinate(1), decoder.int64([2, 3, 4])]);
  const cell = (i: number) => ((i + 0.5) * size) / maskSide;
  const gx = decoder.float(Array.from({ length: maskSide * maskSide }, (_, i) => cell(i % maskSide)), [1, 1, 1, maskSide, maskSide]);
  const gy = decoder.float(Array.from({ length: maskSide * maskSide }, (_, i) => cell(Math.floor(i / maskSide))), [1, 1, 1, maskSide, maskSide]);
  const dx = decoder.op('Sub', [gx, x]);
  const dy = decoder.op('Sub', [gy, y]);
  const d2 = decoder.op('Add', [decoder.op('Mul', [dx, dx]), decoder.op('Mul', [dy, dy])]); // [B, P, 1, m, m]
  const r2 = decoder.float(radii.map((r) => r * r), [1, 1, 3, 1, 1]);
  const scale = decoder.float(radii.map((r) => sharpness / (2 * r)), [1, 1, 3, 1, 1]);
  // the embeddings enter with weight 0, so every input is used as in the real decoder
  const zero = embeddings.map((e) => decoder.op('Mul', [decoder.op('ReduceMean', [e], [{ name: 'keepdims', int: 0 }]), decoder.float([0])]));
  let logits = decoder.op('Mul', [decoder.op('Sub', [r2, d2]), scale]);
  for (const z of zero) logits = decoder.op('Add', [logits, z]);
  decoder.output(logits, 'pred_masks', FLOAT, ['batch_size', 'point_batch_size', 3, maskSide, maskSide]);
  const perPrompt = decoder.op('Mul', [decoder.op('Unsqueeze', [coordinate(0), decoder.int64([2])]), decoder.float([0])]); // [B, P, 1] zeros
  decoder.output(decoder.op('Add', [perPrompt, decoder.float([...iou], [1, 1, 3])]), 'iou_scores', FLOAT, ['batch_size', 'point_batch_size', 3]);
  if (options.kind === 'sam2') decoder.output(decoder.op('Add', [perPrompt, decoder.float([10])]), 'object_score_logits', FLOAT, ['batch_size', 'point_batch_size', 1]);
  await writeFile(join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx'), decoder.build());

  const normalisation = { do_normalize: true, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225], do_rescale: true, rescale_factor: 1 / 255, do_resize: true, resample: 2, do_convert_rgb: true };
  if (options.kind === 'sam') {
    // facebook/sam-vit-base's configs with the sizes scaled down: longest edge resized to S, padded to S x S
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'sam', architectures: ['SamModel'] }, null, 2));
    await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify({ ...normalisation, image_processor_type: 'SamImageProcessor', processor_class: 'SamProcessor', do_pad: true, size: { longest_edge: size }, pad_size: { height: size, width: size } }, null, 2));
  } else {
    // facebook/sam2.1-hiera-tiny's configs with the sizes scaled down: resized to S x S (no padding)
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'sam2', architectures: ['Sam2Model'], vision_config: { num_feature_levels: 3 } }, null, 2));
    await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify({ ...normalisation, image_processor_type: 'Sam2ImageProcessorFast', processor_class: 'Sam2Processor', size: { height: size, width: size }, mask_size: { height: maskSide, width: maskSide } }, null, 2));
  }
}
