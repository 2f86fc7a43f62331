#!/usr/bin/python3
"""Makes the Idefics3 / SmolVLM preprocessing goldens for @icot/families.

Run with Debian's Pillow (python3-pil) and numpy, which live under /usr/bin/python3:

    /usr/bin/python3 packages/families/test/idefics3-goldens/make_goldens.py

transformers is not installed here, so the slow (PIL) image processor is rebuilt step by step with
Pillow + numpy, following transformers' SmolVLMImageProcessor (models/smolvlm/image_processing_smolvlm.py,
the slow processor that HuggingFaceTB/SmolVLM* checkpoints load; Idefics3ImageProcessor differs only
in its older upper bound of 1820 px and in the no-split branch, see the README of @icot/families):

1. do_resize: the longest edge becomes size.longest_edge (up or down), the other edge
   int(edge * ratio) rounded up to even; then both capped at MAX_IMAGE_SIZE = 4096; PIL resize.
2. do_image_splitting: resize_for_vision_encoder - the long edge is rounded up to a multiple of
   max_image_size.longest_edge (M), the short edge int(long / ratio) rounded up to a multiple of M;
   PIL resize. If the result is larger than M x M it is cut into (height / M) x (width / M) tiles in
   raster order, and the global image (the same image resized to M x M) follows them; otherwise
   the image itself is the only frame (rows = cols = 0).
   Without splitting, the image is resized to M x M (rows = cols = 0).
3. rescale as image.astype(float64) * factor then astype(float32), normalize in float32, CHW.
4. do_pad: one image, every frame M x M, so nothing is padded and pixel_attention_mask is all 1.

Each resize is PIL.Image.resize with the config's resample (1 = LANCZOS); a resize to the current
size is a copy (Pillow returns self.copy()). Goldens: sha256 of the float32 little-endian
pixel_values [1, N, 3, M, M] plus sampled values, the sizes after each step, and the tile grid.
The inputs are the photo JPEGs of packages/image/test/goldens/inputs (their sha256 is recorded).
"""
import hashlib
import json
import math
import os

import numpy as np
import PIL
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "image", "test", "goldens", "inputs"))
PROVENANCE = (
    f"Pillow {PIL.__version__} (Debian python3-pil, libjpeg-turbo) + numpy {np.__version__}, "
    "made by packages/families/test/idefics3-goldens/make_goldens.py"
)
MAX_IMAGE_SIZE = 4096

BASE = {
    "do_convert_rgb": True, "do_resize": True, "do_rescale": True, "do_normalize": True, "do_pad": True,
    "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "rescale_factor": 0.00392156862745098,
    "resample": 1, "image_processor_type": "Idefics3ImageProcessor", "processor_class": "Idefics3Processor",
}
CONFIGS = {
    # As published for HuggingFaceTB/SmolVLM-256M-Instruct (preprocessor_config.json).
    "smolvlm-256m": {**BASE, "do_image_splitting": True, "size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 512}},
    # The tiny models' sizes (@icot/testing writeTinySmolVlm): a 640x480 photo becomes 2x2 tiles + global.
    "tiny-smolvlm": {**BASE, "do_image_splitting": True, "size": {"longest_edge": 128}, "max_image_size": {"longest_edge": 64}},
    # longest_edge == max_image_size: the resized image is one tile, not split (rows = cols = 0).
    "tiny-one-tile": {**BASE, "do_image_splitting": True, "size": {"longest_edge": 64}, "max_image_size": {"longest_edge": 64}},
    # Splitting off: the image is squared to max_image_size (rows = cols = 0).
    "tiny-no-split": {**BASE, "do_image_splitting": False, "size": {"longest_edge": 128}, "max_image_size": {"longest_edge": 64},
                      "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]},
}
CASES = [
    ("photo-640x480.jpg", "smolvlm-256m"),
    ("photo-640x480.jpg", "tiny-smolvlm"),
    ("photo-333x500.jpg", "tiny-smolvlm"),
    ("jpeg-420.jpg", "tiny-one-tile"),
    ("photo-333x500.jpg", "tiny-no-split"),
]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def longest_edge_size(height, width, longest):
    # image_processing_smolvlm: _resize_output_size_rescale_to_max_len, then
    # _resize_output_size_scale_below_upper_bound with MAX_IMAGE_SIZE.
    ratio = width / height
    if width >= height:
        width = longest
        height = int(width / ratio)
        if height % 2 != 0:
            height += 1
    else:
        height = longest
        width = int(height * ratio)
        if width % 2 != 0:
            width += 1
    height, width = max(height, 1), max(width, 1)
    ratio = width / height
    if width >= height and width > MAX_IMAGE_SIZE:
        width = MAX_IMAGE_SIZE
        height = int(width / ratio)
    elif height > width and height > MAX_IMAGE_SIZE:
        height = MAX_IMAGE_SIZE
        width = int(height * ratio)
    return max(height, 1), max(width, 1)


def vision_encoder_size(height, width, tile):
    # image_processing_smolvlm: resize_for_vision_encoder.
    ratio = width / height
    if width >= height:
        width = math.ceil(width / tile) * tile
        height = int(width / ratio)
        height = math.ceil(height / tile) * tile
    else:
        height = math.ceil(height / tile) * tile
        width = int(height * ratio)
        width = math.ceil(width / tile) * tile
    return height, width


def resize(image, height, width, resample):
    return image.resize((width, height), resample=resample)  # a copy when the size is unchanged


def process(rgb, cfg):
    tile = cfg["max_image_size"]["longest_edge"]
    resample = cfg["resample"]
    steps = {}
    image = rgb
    if cfg["do_resize"]:
        h, w = longest_edge_size(image.height, image.width, cfg["size"]["longest_edge"])
        image = resize(image, h, w, resample)
        steps["resized"] = [image.width, image.height]
    rows = cols = 0
    if cfg["do_image_splitting"]:
        h, w = vision_encoder_size(image.height, image.width, tile)
        image = resize(image, h, w, resample)
        steps["encoderSize"] = [image.width, image.height]
        if image.height > tile or image.width > tile:
            rows, cols = image.height // tile, image.width // tile
            array = np.asarray(image)
            frames = [array[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] for r in range(rows) for c in range(cols)]
            frames.append(np.asarray(resize(image, tile, tile, resample)))
        else:
            frames = [np.asarray(image)]
    else:
        frames = [np.asarray(resize(image, tile, tile, resample))]
        steps["encoderSize"] = [tile, tile]
    mean = np.array(cfg["image_mean"], dtype=np.float32)
    std = np.array(cfg["image_std"], dtype=np.float32)
    processed = []
    for frame in frames:
        assert frame.shape == (tile, tile, 3), frame.shape
        x = (frame.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
        x = ((x - mean) / std).astype(np.float32)
        processed.append(x.transpose(2, 0, 1))
    pixel_values = np.ascontiguousarray(np.stack(processed)[None], dtype="<f4")
    return pixel_values, rows, cols, steps


def samples_of(data, count=96):
    step = max(1, len(data) // count)
    idx = list(range(0, len(data), step))[:count]
    return {"indices": idx, "values": [float(data[i]) for i in idx]}


def main():
    processed = []
    for file, name in CASES:
        path = os.path.join(INPUTS, file)
        with open(path, "rb") as f:
            input_sha = sha256(f.read())
        # transformers' load_image: exif_transpose then convert('RGB') (these JPEGs have no alpha).
        rgb = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        pixel_values, rows, cols, steps = process(rgb, CONFIGS[name])
        flat = pixel_values.ravel()
        processed.append({
            "input": f"../../../image/test/goldens/inputs/{file}", "inputSha256": input_sha, "config": name,
            "size": [rgb.width, rgb.height], **steps, "grid": {"rows": rows, "cols": cols},
            "dims": list(pixel_values.shape), "pixelValuesSha256": sha256(flat.tobytes()), "samples": samples_of(flat),
        })
    manifest = {
        "provenance": PROVENANCE,
        "reference": "transformers SmolVLMImageProcessor (slow, PIL), rebuilt step by step; see make_goldens.py",
        "configs": CONFIGS,
        "processed": processed,
    }
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
