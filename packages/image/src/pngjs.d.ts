// The part of pngjs (7.x) this package uses, declared here instead of @types/pngjs, whose
// declarations pull Node's types into every program that imports @icot/image (this entry is
// browser-safe and compiles without Node types).
declare module 'pngjs' {
  /** A PNG image: size and samples (4 per pixel; Uint16Array for 16-bit files). */
  interface PngImage {
    width: number;
    height: number;
    data: Uint8Array | Uint16Array;
  }
  interface PngConstructor {
    new (options: { width: number; height: number }): PngImage & { data: Uint8Array };
    readonly sync: {
      read(data: Uint8Array, options?: { skipRescale?: boolean }): PngImage;
      write(png: { width: number; height: number; data: Uint8Array }, options?: { colorType?: number; inputColorType?: number; inputHasAlpha?: boolean }): Uint8Array;
    };
  }
  const pngjs: { readonly PNG: PngConstructor };
  export default pngjs;
}
