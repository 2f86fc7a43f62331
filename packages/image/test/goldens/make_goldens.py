#!/usr/bin/python3
"""Makes the image test inputs and their Pillow goldens for @icot/image and @icot/families.

Run with Debian's Pillow (python3-pil) and numpy, which live under /usr/bin/python3:

    /usr/bin/python3 packages/image/test/goldens/make_goldens.py

Writes inputs/*.jpg|png (made here with Pillow, or with the small PNG writer below where Pillow
cannot write the format), expected/*.png (the RGB Pillow decodes, as 8-bit RGB PNGs) and
manifest.json (what each golden is, with a provenance line). The RGB goldens follow what users'
Python pipelines do:

- "composite": Image.open -> ImageOps.exif_transpose -> convert_to_rgb as Idefics2/Mllama's
  processors define it (convert('RGBA'), Image.alpha_composite over opaque white, convert('RGB');
  an RGB image is returned as is).
- "drop": Image.open -> ImageOps.exif_transpose -> convert('RGB'), i.e. transformers'
  image_utils.load_image, and also transformers' generic image_transforms.convert_to_rgb that the
  Qwen2-VL and CLIP processors call (it is a plain convert('RGB')).

The preprocessing goldens reproduce the slow (PIL) Hugging Face processors step by step with Pillow
and numpy (transformers itself is not installed here): resize with PIL.Image.resize, HF's
center_crop, rescale as image.astype(float64) * factor then astype(float32), normalize in float32,
and Qwen2-VL's patch flattening. They are stored as sha256 of the float32 little-endian bytes plus
sampled values.
"""
import hashlib
import io
import json
import math
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, "inputs")
EXPECTED = os.path.join(HERE, "expected")
PROVENANCE = (
    f"Pillow {PIL.__version__} (Debian python3-pil, libjpeg-turbo) + numpy {np.__version__}, "
    "made by packages/image/test/goldens/make_goldens.py"
)


# ---------------------------------------------------------------------------------------------
# Content with texture (gradients, edges, noise), so that decoders and resamplers really differ.

def texture(width, height, channels=3, seed=0, noise=28):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        base = 255 * (x / max(width - 1, 1)) * (0.3 + 0.2 * c) + 255 * (y / max(height - 1, 1)) * (0.7 - 0.2 * c)
        base += 40 * np.sin((x * (0.21 + 0.05 * c)) + (y * 0.13))
        # Hard-edged shapes: a rectangle and a disc.
        rect = (x > width * 0.2) & (x < width * 0.45) & (y > height * 0.3) & (y < height * 0.7)
        disc = (x - width * 0.7) ** 2 + (y - height * 0.4) ** 2 < (min(width, height) * 0.2) ** 2
        base = np.where(rect, 230 - 90 * c, base)
        base = np.where(disc, 20 + 100 * c, base)
        base += rng.normal(0, noise, size=base.shape)
        planes.append(base)
    return np.clip(np.stack(planes, axis=-1), 0, 255).round().astype(np.uint8)


def alpha_gradient(width, height):
    """Alpha from 0 (left) to 255 (right), with a fully opaque and a fully transparent stripe."""
    x = np.arange(width, dtype=np.float64)
    a = np.tile(np.round(255 * x / (width - 1)), (height, 1))
    a[: height // 5, :] = 255
    a[-(height // 5):, :] = 0
    return a.astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# A small PNG writer for what Pillow cannot write: sub-byte gray, 16-bit RGB(A) and gray+alpha,
# tRNS on 16-bit gray, metadata chunks after IDAT, Adam7 interlacing.

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, bit_depth):
    """samples: (H, W*channels) array of integers; returns packed rows without filter bytes."""
    rows = []
    for row in samples:
        if bit_depth == 16:
            rows.append(b"".join(struct.pack(">H", int(v)) for v in row))
        elif bit_depth == 8:
            rows.append(bytes(int(v) for v in row))
        else:
            per = 8 // bit_depth
            out = bytearray()
            for i in range(0, len(row), per):
                byte = 0
                for j in range(per):
                    v = int(row[i + j]) if i + j < len(row) else 0
                    byte |= v << (8 - bit_depth * (j + 1))
                out.append(byte)
            rows.append(bytes(out))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, pixels, bit_depth, color_type, extra_before=(), extra_after=(), interlace=False):
    """pixels: (H, W, channels) array of samples at bit_depth."""
    height, width, channels = pixels.shape
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in pack_rows(sub.reshape(sub.shape[0], -1), bit_depth):
            raw += b"\x00" + row
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    for kind, payload in extra_before:
        data += png_chunk(kind, payload)
    data += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    for kind, payload in extra_after:
        data += png_chunk(kind, payload)
    data += png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0131] = "icot golden"  # Software, so that the IFD has more than one entry
    return exif.tobytes()  # starts with b"Exif\0\0"


def insert_jpeg_app1(jpeg, payload):
    """Inserts an APP1 segment right after SOI."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


# ---------------------------------------------------------------------------------------------
# Reference pipelines.

def convert_to_rgb_composite(image):
    """Idefics2/Mllama's convert_to_rgb (transformers): alpha_composite over white, then RGB."""
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def load(path):
    image = Image.open(path)
    image.load()
    return image


def reference_rgb(path, alpha):
    image = ImageOps.exif_transpose(load(path))
    return convert_to_rgb_composite(image) if alpha == "composite" else image.convert("RGB")


def save_rgb(name, rgb):
    assert rgb.mode == "RGB"
    # A fresh image: no info (a leftover "transparency" would be written as tRNS).
    Image.frombytes("RGB", rgb.size, rgb.tobytes()).save(os.path.join(EXPECTED, name), optimize=True)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------

def main():
    os.makedirs(INPUTS, exist_ok=True)
    os.makedirs(EXPECTED, exist_ok=True)
    for folder in (INPUTS, EXPECTED):
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))
    cases = []

    def case(file, what, alpha_differs=False, note=None, expected_from=None):
        """Records a decode case; the goldens are computed by Pillow from the file unless given."""
        path = os.path.join(INPUTS, file)
        stem = os.path.splitext(file)[0]
        entry = {"input": f"inputs/{file}", "what": what}
        modes = ["composite", "drop"] if alpha_differs else ["composite"]
        for mode in modes:
            rgb = expected_from(mode) if expected_from else reference_rgb(path, mode)
            name = f"{stem}.{mode}.png" if alpha_differs else f"{stem}.png"
            save_rgb(name, rgb)
            entry[mode] = f"expected/{name}"
        if not alpha_differs:
            # No alpha: load_image-style conversion gives the same pixels; check that here.
            same = reference_rgb(path, "drop") if not expected_from else expected_from("drop")
            assert same.tobytes() == (expected_from("composite") if expected_from else reference_rgb(path, "composite")).tobytes(), file
            entry["drop"] = entry["composite"]
        opened = load(path)
        entry["pillowMode"] = opened.mode
        entry["size"] = [opened.width, opened.height]
        if note:
            entry["note"] = note
        cases.append(entry)

    W, H = 61, 47  # odd sizes: partial MCUs and chroma edges

    # --- JPEG --------------------------------------------------------------------------------
    rgb = Image.fromarray(texture(W, H, seed=1))
    rgb.save(os.path.join(INPUTS, "jpeg-420.jpg"), quality=90, subsampling=2)
    case("jpeg-420.jpg", "baseline JPEG, YCbCr 4:2:0 (fancy upsampling)")
    rgb.save(os.path.join(INPUTS, "jpeg-422.jpg"), quality=90, subsampling=1)
    case("jpeg-422.jpg", "baseline JPEG, YCbCr 4:2:2")
    rgb.save(os.path.join(INPUTS, "jpeg-444.jpg"), quality=90, subsampling=0)
    case("jpeg-444.jpg", "baseline JPEG, YCbCr 4:4:4")
    rgb.save(os.path.join(INPUTS, "jpeg-progressive.jpg"), quality=88, subsampling=2, progressive=True)
    case("jpeg-progressive.jpg", "progressive JPEG, 4:2:0")
    Image.fromarray(texture(W, H, channels=1, seed=2)[..., 0]).save(os.path.join(INPUTS, "jpeg-gray.jpg"), quality=90)
    case("jpeg-gray.jpg", "grayscale JPEG (mode L)")
    Image.fromarray(texture(W, H, channels=4, seed=3), "CMYK").save(os.path.join(INPUTS, "jpeg-cmyk.jpg"), quality=90)
    cmyk = np.array(load(os.path.join(INPUTS, "jpeg-cmyk.jpg"))).astype(np.int64)
    # Pillow main's cmyk2rgb (src/libImaging/Convert.c): nk = 255 - k; out = nk - MULDIV255(c, nk).
    nk = 255 - cmyk[..., 3:4]
    t = cmyk[..., :3] * nk + 128
    current = np.clip(nk - ((t + (t >> 8)) >> 8), 0, 255).astype(np.uint8)
    assert current.tobytes() == reference_rgb(os.path.join(INPUTS, "jpeg-cmyk.jpg"), "drop").tobytes()
    case("jpeg-cmyk.jpg", "CMYK JPEG with an Adobe marker (Pillow reads it as inverted CMYK, 'CMYK;I')",
         note="convert('RGB') of Pillow 9.4 checked equal to Pillow main's cmyk2rgb (computed with numpy)")

    small = Image.fromarray(texture(29, 19, seed=4))
    for orientation in range(1, 9):
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=92, subsampling=2, exif=exif_bytes(orientation))
        with open(os.path.join(INPUTS, f"jpeg-exif-{orientation}.jpg"), "wb") as f:
            f.write(buffer.getvalue())
        case(f"jpeg-exif-{orientation}.jpg", f"4:2:0 JPEG with EXIF (APP1) orientation {orientation}")

    # XMP orientation in a JPEG: Pillow main's getexif reads info["xmp"] when EXIF has no
    # orientation; Pillow 9.4 only reads PNG's "XML:com.adobe.xmp". The golden applies Pillow main's
    # rule: Pillow 9.4 decodes, the transposition for orientation 6 is applied here.
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=92, subsampling=2)
    xmp = (b'http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
           b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
           b'tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    with open(os.path.join(INPUTS, "jpeg-xmp-6.jpg"), "wb") as f:
        f.write(insert_jpeg_app1(buffer.getvalue(), xmp))
    case("jpeg-xmp-6.jpg", "4:2:0 JPEG whose only orientation is XMP tiff:Orientation=6",
         note="Pillow main rule (getexif falls back to info['xmp']); Pillow 9.4 ignores JPEG XMP, so the golden is "
              "Pillow 9.4's decode transposed with Image.Transpose.ROTATE_270 here",
         expected_from=lambda mode: load(os.path.join(INPUTS, "jpeg-xmp-6.jpg")).convert("RGB").transpose(Image.Transpose.ROTATE_270))

    # --- PNG -------------------------------------------------------------------------------------
    tex = texture(W, H, seed=5)
    alpha = alpha_gradient(W, H)
    Image.fromarray(np.dstack([tex, alpha]), "RGBA").save(os.path.join(INPUTS, "png-rgba.png"))
    case("png-rgba.png", "RGBA PNG with an alpha gradient", alpha_differs=True)
    gray = texture(W, H, channels=1, seed=6)[..., 0]
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(os.path.join(INPUTS, "png-la.png"))
    case("png-la.png", "gray + alpha PNG (mode LA) with an alpha gradient", alpha_differs=True)
    Image.fromarray(gray).save(os.path.join(INPUTS, "png-gray.png"))
    case("png-gray.png", "8-bit gray PNG")
    key = int(np.bincount(gray.ravel()).argmax())
    Image.fromarray(gray).save(os.path.join(INPUTS, "png-gray-trns.png"), transparency=key)
    case("png-gray-trns.png", f"8-bit gray PNG with a tRNS colour key ({key})", alpha_differs=True)
    Image.fromarray(tex).save(os.path.join(INPUTS, "png-rgb-trns.png"), transparency=tuple(int(v) for v in tex[3, 3]))
    case("png-rgb-trns.png", "RGB PNG with a tRNS colour key (convert_to_rgb leaves RGB alone)")

    # Palette with per-entry alpha (tRNS of several values) and with one transparent entry.
    quantized = Image.fromarray(tex).quantize(colors=40, dither=Image.Dither.NONE)
    entries = len(quantized.getpalette()) // 3
    palette_alpha = bytes((i * 37) % 256 for i in range(entries))
    quantized.save(os.path.join(INPUTS, "png-palette-alpha.png"), transparency=palette_alpha)
    case("png-palette-alpha.png", "palette PNG with a tRNS alpha per entry", alpha_differs=True)
    quantized.save(os.path.join(INPUTS, "png-palette-trns.png"), transparency=3)
    case("png-palette-trns.png", "palette PNG with one transparent entry", alpha_differs=True)

    # 16-bit and sub-byte PNGs (written here; Pillow cannot write them).
    rng = np.random.default_rng(7)
    g16 = np.concatenate([rng.integers(0, 256, (H // 2, W)), rng.integers(0, 65536, (H - H // 2, W))]).astype(np.int64)
    write_png(os.path.join(INPUTS, "png-gray16.png"), g16[..., None], 16, 0)
    clipped = np.where(g16 > 255, 255, g16).astype(np.uint8)
    assert np.array_equal(np.array(reference_rgb(os.path.join(INPUTS, "png-gray16.png"), "drop"))[..., 0], clipped)
    case("png-gray16.png", "16-bit gray PNG (half the rows below 256)",
         note="Pillow 9.4 opens it as mode I, Pillow main as I;16; both convert to RGB by clipping at 255 "
              "(i2rgb / I16_RGB in Convert.c), checked here with numpy")
    write_png(os.path.join(INPUTS, "png-gray16-trns.png"), g16[..., None], 16, 0,
              extra_before=[(b"tRNS", struct.pack(">H", 0x0107))])
    case("png-gray16-trns.png", "16-bit gray PNG with tRNS 0x0107 (Pillow compares the clipped value with its low byte, 7)",
         alpha_differs=True)
    rgb16 = rng.integers(0, 65536, (H, W, 3))
    write_png(os.path.join(INPUTS, "png-rgb16.png"), rgb16, 16, 2)
    case("png-rgb16.png", "16-bit RGB PNG (Pillow keeps the high byte, rawmode RGB;16B)")
    a16 = (alpha.astype(np.int64) * 257)[..., None]
    a16[::3] = (a16[::3] + 91) % 65536  # low bytes that must not matter
    write_png(os.path.join(INPUTS, "png-rgba16.png"), np.concatenate([rgb16, a16], axis=-1), 16, 6)
    case("png-rgba16.png", "16-bit RGBA PNG with an alpha gradient", alpha_differs=True)
    write_png(os.path.join(INPUTS, "png-la16.png"), np.concatenate([rgb16[..., :1], a16], axis=-1), 16, 4)
    case("png-la16.png", "16-bit gray + alpha PNG (Pillow reads it as RGBA, rawmode LA;16B)", alpha_differs=True)
    for depth in (1, 2, 4):
        levels = rng.integers(0, 2 ** depth, (H, W, 1))
        write_png(os.path.join(INPUTS, f"png-gray{depth}.png"), levels, depth, 0)
        case(f"png-gray{depth}.png", f"{depth}-bit gray PNG")
    write_png(os.path.join(INPUTS, "png-gray2-trns.png"), rng.integers(0, 4, (H, W, 1)), 2, 0,
              extra_before=[(b"tRNS", struct.pack(">H", 0))])
    case("png-gray2-trns.png", "2-bit gray PNG with tRNS 0", alpha_differs=True)
    write_png(os.path.join(INPUTS, "png-interlaced.png"), np.dstack([tex, alpha]).astype(np.int64), 8, 6, interlace=True)
    case("png-interlaced.png", "Adam7-interlaced RGBA PNG", alpha_differs=True)

    # EXIF orientation in PNG: eXIf before IDAT (Pillow's writer), eXIf after IDAT, ImageMagick's
    # zTXt "Raw profile type exif", and XMP tiff:Orientation in iTXt.
    small_rgba = np.dstack([texture(29, 19, seed=8), alpha_gradient(29, 19)])
    for orientation in (3, 5, 6, 8):
        Image.fromarray(small_rgba, "RGBA").save(os.path.join(INPUTS, f"png-exif-{orientation}.png"), exif=exif_bytes(orientation))
        case(f"png-exif-{orientation}.png", f"RGBA PNG with an eXIf chunk, orientation {orientation}", alpha_differs=True)
    small_rgb = texture(29, 19, seed=9).astype(np.int64)
    write_png(os.path.join(INPUTS, "png-exif-after-idat-7.png"), small_rgb, 8, 2, extra_after=[(b"eXIf", exif_bytes(7)[6:])])
    case("png-exif-after-idat-7.png", "RGB PNG with eXIf after IDAT, orientation 7")
    raw_exif = exif_bytes(6)
    hexed = raw_exif.hex()
    profile = "\nexif\n" + f"{len(raw_exif):8d}\n" + "\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + "\n"
    ztxt = b"Raw profile type exif\x00\x00" + zlib.compress(profile.encode("latin-1"))
    write_png(os.path.join(INPUTS, "png-raw-profile-6.png"), small_rgb, 8, 2, extra_before=[(b"zTXt", ztxt)])
    case("png-raw-profile-6.png", "RGB PNG with ImageMagick's zTXt 'Raw profile type exif', orientation 6")
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + b'<x:xmpmeta><rdf:Description tiff:Orientation="8"/></x:xmpmeta>'
    write_png(os.path.join(INPUTS, "png-xmp-8.png"), small_rgb, 8, 2, extra_before=[(b"iTXt", itxt)])
    case("png-xmp-8.png", "RGB PNG with XMP tiff:Orientation=8 in iTXt")

    # --- Photo-sized images for resizing and processors -----------------------------------------
    photos = []
    photo = Image.fromarray(texture(640, 480, seed=10, noise=6))
    photo.save(os.path.join(INPUTS, "photo-640x480.jpg"), quality=75, subsampling=2)
    photos.append(("photo-640x480.jpg", "640x480 4:2:0 JPEG"))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=75, subsampling=2, exif=exif_bytes(6))
    with open(os.path.join(INPUTS, "photo-640x480-rot6.jpg"), "wb") as f:
        f.write(buffer.getvalue())
    photos.append(("photo-640x480-rot6.jpg", "the same 640x480 JPEG with EXIF orientation 6 (decodes to 480x640)"))
    Image.fromarray(texture(333, 500, seed=11, noise=6)).save(os.path.join(INPUTS, "photo-333x500.jpg"), quality=75,
                                                              subsampling=0, progressive=True)
    photos.append(("photo-333x500.jpg", "333x500 progressive 4:4:4 JPEG"))

    def samples_of(data, count=64):
        step = max(1, len(data) // count)
        idx = list(range(0, len(data), step))[:count]
        return {"indices": idx, "values": [float(data[i]) if data.dtype.kind == "f" else int(data[i]) for i in idx]}

    decoded_photos = []
    for file, what in photos:
        path = os.path.join(INPUTS, file)
        for mode in ("composite",):  # no alpha in these: "drop" gives the same pixels
            rgb = reference_rgb(path, mode)
            data = np.asarray(rgb, dtype=np.uint8).ravel()
            decoded_photos.append({"input": f"inputs/{file}", "what": what, "alpha": mode, "size": [rgb.width, rgb.height],
                                   "sha256": sha256(data.tobytes()), "samples": samples_of(data)})

    configs = {
        "qwen2-vl-2b": {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
                        "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                        "image_std": [0.26862954, 0.26130258, 0.27577711], "rescale_factor": 0.00392156862745098,
                        "resample": 3, "do_resize": True, "do_rescale": True, "do_normalize": True,
                        "image_processor_type": "Qwen2VLImageProcessor"},
        "tiny-qwen2-vl": {"min_pixels": 3136, "max_pixels": 50176, "patch_size": 14, "temporal_patch_size": 2,
                          "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                          "image_std": [0.26862954, 0.26130258, 0.27577711], "rescale_factor": 0.00392156862745098,
                          "resample": 3, "do_resize": True, "do_rescale": True, "do_normalize": True,
                          "image_processor_type": "Qwen2VLImageProcessor"},
        "clip-336": {"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}, "resample": 3,
                     "do_resize": True, "do_center_crop": True, "do_rescale": True, "do_normalize": True,
                     "rescale_factor": 0.00392156862745098, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                     "image_std": [0.26862954, 0.26130258, 0.27577711], "image_processor_type": "CLIPImageProcessor"},
    }

    def rescale_normalize(arr, cfg):
        x = (arr.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
        mean = np.array(cfg["image_mean"], dtype=np.float32)
        std = np.array(cfg["image_std"], dtype=np.float32)
        return ((x - mean) / std).astype(np.float32)  # channels last, float32 throughout

    def smart_resize(height, width, factor, min_pixels, max_pixels):
        # transformers' image_processing_qwen2_vl.smart_resize
        h_bar = round(height / factor) * factor
        w_bar = round(width / factor) * factor
        if h_bar * w_bar > max_pixels:
            beta = math.sqrt((height * width) / max_pixels)
            h_bar = max(factor, math.floor(height / beta / factor) * factor)
            w_bar = max(factor, math.floor(width / beta / factor) * factor)
        elif h_bar * w_bar < min_pixels:
            beta = math.sqrt(min_pixels / (height * width))
            h_bar = math.ceil(height * beta / factor) * factor
            w_bar = math.ceil(width * beta / factor) * factor
        return h_bar, w_bar

    def qwen(rgb, cfg):
        p, m, tp = cfg["patch_size"], cfg["merge_size"], cfg["temporal_patch_size"]
        rh, rw = smart_resize(rgb.height, rgb.width, p * m, cfg["min_pixels"], cfg["max_pixels"])
        resized = np.array(Image.fromarray(np.array(rgb)).resize((rw, rh), resample=cfg["resample"]))
        x = rescale_normalize(resized, cfg).transpose(2, 0, 1)
        patches = np.tile(x[None], (tp, 1, 1, 1))
        gh, gw = rh // p, rw // p
        patches = patches.reshape(1, tp, 3, gh // m, m, p, gw // m, m, p).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
        flat = np.ascontiguousarray(patches.reshape(gh * gw, 3 * tp * p * p), dtype="<f4")
        return resized, flat, [gh * gw, 3 * tp * p * p], {"gridThw": [1, gh, gw]}

    def clip(rgb, cfg):
        short = cfg["size"]["shortest_edge"]
        w, h = rgb.width, rgb.height
        s, l = (w, h) if w <= h else (h, w)
        new_long = int(short * l / s)
        ow, oh = (short, new_long) if w <= h else (new_long, short)
        resized = np.array(Image.fromarray(np.array(rgb)).resize((ow, oh), resample=cfg["resample"]))
        ch, cw = cfg["crop_size"]["height"], cfg["crop_size"]["width"]
        top, left = (oh - ch) // 2, (ow - cw) // 2
        assert top >= 0 and left >= 0
        cropped = resized[top:top + ch, left:left + cw]
        x = rescale_normalize(cropped, cfg).transpose(2, 0, 1)
        flat = np.ascontiguousarray(x, dtype="<f4").ravel()
        return resized, flat, [1, 3, ch, cw], {}

    processed = []
    for file, _ in photos:
        rgb = reference_rgb(os.path.join(INPUTS, file), "composite")
        for name, cfg in configs.items():
            resized, flat, dims, extra = (clip if name.startswith("clip") else qwen)(rgb, cfg)
            processed.append({
                "input": f"inputs/{file}", "alpha": "composite", "config": name, "resized": [resized.shape[1], resized.shape[0]],
                "resizedSha256": sha256(np.ascontiguousarray(resized).tobytes()), "dims": dims, **extra,
                "pixelValuesSha256": sha256(flat.tobytes()), "samples": samples_of(flat.ravel()),
            })

    manifest = {
        "provenance": PROVENANCE,
        "rgb": "RGB goldens: Image.open -> ImageOps.exif_transpose -> 'composite' (Idefics2/Mllama convert_to_rgb: "
               "convert('RGBA'), alpha_composite over opaque white, convert('RGB')) or 'drop' (convert('RGB'), as "
               "transformers' load_image and its generic image_transforms.convert_to_rgb). expected/*.png are 8-bit RGB.",
        "preprocessing": "HF slow (PIL) processors rebuilt step by step with Pillow + numpy: Qwen2-VL smart_resize + "
                         "PIL resize (bicubic), CLIP shortest-edge resize + HF center_crop; rescale float64 then "
                         "float32, normalize float32; sha256 of float32 little-endian pixel_values, sampled values.",
        "configs": configs,
        "cases": cases,
        "photos": decoded_photos,
        "processed": processed,
    }
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
