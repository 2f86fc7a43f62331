import type { EncodedImage, ExpandedPrompt, InputSegment, PromptImage } from '@icot/core';

/**
 * Builds what a family's `expandPrompt` returns, input by input: text tokens (merged into runs,
 * and kept as the prompt's text token ids) and image segments, counting the cache index each
 * input gets (`length`), so a family records each image's patch map as it lays the image out.
 */
export class PromptSegments {
  private readonly segments: InputSegment[] = [];
  private readonly images: PromptImage[] = [];
  private readonly textTokenIds: number[] = [];
  private run: number[] = [];
  private fed = 0;

  /** Cache index of the next input. */
  get length(): number {
    return this.fed + this.run.length;
  }

  /** Append text tokens. */
  text(ids: readonly number[]): void {
    this.run.push(...ids);
    this.textTokenIds.push(...ids);
  }

  /** Append image tokens: `patches` of `image` in that order (default all of them). */
  image(image: EncodedImage, patches?: readonly number[]): void {
    this.flush();
    this.segments.push(patches ? { type: 'image', image, patches } : { type: 'image', image });
    this.fed += patches?.length ?? image.patchCount;
  }

  /** Record a prompt image with its patch map. */
  promptImage(image: PromptImage): void {
    this.images.push(image);
  }

  /** The segments, images and text token ids so far. */
  done(): ExpandedPrompt {
    this.flush();
    return { segments: this.segments, images: this.images, textTokenIds: this.textTokenIds };
  }

  private flush(): void {
    if (this.run.length) this.segments.push({ type: 'tokens', ids: this.run });
    this.fed += this.run.length;
    this.run = [];
  }
}
