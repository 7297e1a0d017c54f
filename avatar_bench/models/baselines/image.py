"""Image preprocessing of the baselines: resize, scale to [0, 1], ImageNet mean/std.

The originals resize with PIL bicubic: EZ-VSL/SLAVC test with ``Resize((224, 224))`` (direct,
aspect ratio not kept); SSL-TIE tests with ``Resize(224) + CenterCrop(224)``. On AVATAR's
16:9 frames a centre crop would drop the sides, so the map would not cover the frame the
evaluator scores; all three adapters therefore use the direct resize (PIL bicubic, as
torchvision's ``Resize`` on a PIL image) and the map covers the whole frame.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
IMAGE_SIZE = 224


def preprocess_image(rgb: np.ndarray, size: int = IMAGE_SIZE, flip: bool = False) -> np.ndarray:
    """HxWx3 uint8 RGB -> 3 x size x size float32, normalised with ImageNet statistics."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {rgb.shape}")
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    if img.size != (size, size):
        img = img.resize((size, size), Image.BICUBIC)
    x = np.asarray(img, dtype=np.float32) / 255.0
    if flip:
        x = x[:, ::-1]
    x = (x - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)
