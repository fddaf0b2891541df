"""Generated "not a dermoscopic lesion" photos to *fit* the not-a-lesion tier of the detector.

Kept apart from the images that *measure* it (:mod:`skinapp.trust.measure`: scikit-image's
natural photographs and their crops, its microscopy and graphics images, the first 100 faces
of ``lfw_subset`` and the synthetic flat / noise / text / document images of
:mod:`skinapp.trust.degrade`): nothing here is one of those images or a crop of one.

- **photos**: random crops (any scale, flipped, colour-jittered) of scikit-learn's two bundled
  photographs (``china.jpg``, ``flower.jpg``) and of scikit-image's phantom, blobs and
  animated GIF; the last 100 faces of ``lfw_subset``;
- **screens**: screenshot-like layouts (title bar, buttons, panels, text lines, a photo-ish
  patch);
- **textures**: coloured fractal (1/f) noise, stripes, plaids and gradients;
- **shapes**: random filled circles, rectangles and lines on a random background.

Destroyed lesion photos (heavy blur, noise, crushed exposure) are deliberately *not* negatives:
fitted with them, the check learned "soft or low-contrast = not a lesion" and flagged 10 % of
HAM10000's (upscaled, softer) photos when HAM10000 was held out. :func:`varied_lesions` gives
extra *positives* instead: lesion photos as another camera might take them.

Every function is pure, randomness only through an explicit ``rng``; outputs are
``(H, W, 3) uint8`` RGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["FAMILIES", "generated_negatives", "varied_lesions"]

#: Families of :func:`generated_negatives`.
FAMILIES = ("photos", "faces", "screens", "textures", "shapes")
_WORDS = ("file", "edit", "view", "save", "patient", "open", "help", "menu", "ok", "cancel")


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A bundled image (bool, float in [0, 1] or [0, 255], gray or RGBA) as (H, W, 3) uint8."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = np.clip(image * (255.0 if image.max() <= 1 else 1.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def _source_photos() -> list[np.ndarray]:
    """Bundled photos that :mod:`skinapp.trust.measure` does not use."""
    import skimage.data
    from PIL import Image, ImageSequence
    from sklearn.datasets import load_sample_images

    photos = [as_rgb(im) for im in load_sample_images().images] * 4  # the real photos, mostly
    photos += [as_rgb(skimage.data.shepp_logan_phantom()), as_rgb(skimage.data.binary_blobs())]
    gif = Path(skimage.data.__file__).parent / "no_time_for_that_tiny.gif"
    if gif.is_file():
        with Image.open(gif) as movie:
            frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(movie)]
        photos += frames[:: max(1, len(frames) // 4)]
    return photos


def _crop(image: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    side = max(8, int(rng.uniform(0.15, 1.0) * min(h, w)))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    out = cv2.resize(image[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    gains = rng.uniform(0.7, 1.3, 3)
    return np.clip(out * gains, 0, 255).astype(np.uint8)


def _screen(rng: np.random.Generator, size: int) -> np.ndarray:
    out = np.full((size, size, 3), rng.integers(180, 256), np.uint8)
    bar = tuple(int(c) for c in rng.integers(0, 256, 3))
    cv2.rectangle(out, (0, 0), (size, int(rng.integers(12, 30))), bar, -1)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, size - 40)), int(rng.integers(30, size - 30))
        x1, y1 = x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(10, 80))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, -1 if rng.random() < 0.6 else 1)
    for i in range(int(rng.integers(3, 10))):
        text = " ".join(rng.choice(_WORDS, int(rng.integers(1, 4))))
        ink = tuple(int(c) for c in rng.integers(0, 120, 3))
        y = 40 + i * int(rng.integers(14, 24))
        cv2.putText(out, text, (int(rng.integers(2, 60)), y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, ink)
    return out


def _fractal(rng: np.random.Generator, size: int) -> np.ndarray:
    freq = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size)))
    freq[0, 0] = 1.0
    power = rng.uniform(1.0, 2.5)
    chans = []
    for _ in range(3):
        spectrum = rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))
        field = np.real(np.fft.ifft2(spectrum / freq**power))
        chans.append((field - field.min()) / max(np.ptp(field), 1e-9))
    mix = rng.uniform(0, 1, (3, 3))
    img = np.stack(chans, -1) @ (mix / mix.sum(axis=0, keepdims=True))
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def _pattern(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / size
    kind = int(rng.integers(3))
    angle = rng.uniform(0, np.pi)
    u = np.cos(angle) * xx + np.sin(angle) * yy
    if kind == 0:  # stripes
        base = (np.sin(2 * np.pi * rng.uniform(2, 30) * u) > 0).astype(float)
    elif kind == 1:  # plaid
        v = -np.sin(angle) * xx + np.cos(angle) * yy
        f = rng.uniform(2, 20)
        base = 0.5 * (np.sin(2 * np.pi * f * u) + np.sin(2 * np.pi * f * v)) * 0.5 + 0.5
    else:  # gradient
        base = u / max(u.max(), 1e-9)
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    return (a + (b - a) * base[..., None]).astype(np.uint8)


def _shapes(rng: np.random.Generator, size: int) -> np.ndarray:
    out = np.full((size, size, 3), rng.integers(0, 256, 3), np.uint8)
    for _ in range(int(rng.integers(3, 15))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = (int(v) for v in rng.integers(0, size, 2))
        kind = int(rng.integers(3))
        if kind == 0:
            cv2.circle(out, (x, y), int(rng.integers(5, size // 3)), colour, -1)
        elif kind == 1:
            x2, y2 = (int(v) for v in rng.integers(0, size, 2))
            cv2.rectangle(out, (x, y), (x2, y2), colour, -1)
        else:
            x2, y2 = (int(v) for v in rng.integers(0, size, 2))
            cv2.line(out, (x, y), (x2, y2), colour, int(rng.integers(1, 8)))
    return out


def generated_negatives(
    rng: np.random.Generator, n_per_family: int = 200, size: int = 224
) -> dict[str, list[np.ndarray]]:
    """``{family: [image, ...]}`` of non-lesion images (see the module docstring)."""
    import skimage.data

    photos = _source_photos()
    faces = [as_rgb(f) for f in skimage.data.lfw_subset()[100:]]  # measure uses the first 100
    return {
        "photos": [
            _crop(photos[int(rng.integers(len(photos)))], rng, size) for _ in range(n_per_family)
        ],
        "faces": [
            cv2.resize(faces[i % len(faces)], (size, size), interpolation=cv2.INTER_CUBIC)
            for i in range(min(n_per_family, len(faces)))
        ],
        "screens": [_screen(rng, size) for _ in range(n_per_family)],
        "textures": [(_fractal if i % 2 else _pattern)(rng, size) for i in range(n_per_family)],
        "shapes": [_shapes(rng, size) for _ in range(n_per_family)],
    }


def varied_lesions(images: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Lesion photos as another clinic's camera might take them (extra *positives*): hue
    turned up to ±20°, saturation ×0.6–1.5, exposure gamma 0.6–1.6, mild blur (sigma up to
    2 px at 224 px), a zoomed crop (60–100 % of the side) and a quarter turn."""
    out = []
    for image in images:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-10, 10)) % 180  # OpenCV hue: 2° per unit
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.5), 0, 255)
        img = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
        table = np.clip(255.0 * (np.arange(256) / 255.0) ** rng.uniform(0.6, 1.6), 0, 255)
        img = table.astype(np.uint8)[img]
        h, w = img.shape[:2]
        sigma = rng.uniform(0, 2) * max(h, w) / 224
        if sigma > 0.3:
            img = cv2.GaussianBlur(img, (0, 0), sigma)
        f = rng.uniform(0.6, 1.0)
        ch, cw = int(h * f), int(w * f)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        out.append(
            np.ascontiguousarray(np.rot90(img[y : y + ch, x : x + cw], int(rng.integers(4))))
        )
    return out
