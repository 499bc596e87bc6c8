"""Data that ships with the package: 2-D toy sets generated from a seed, and scikit-learn's
bundled digits and sample photo.  Nothing here reads the network."""

from functools import cache

import numpy as np

#: The square every 2-D toy set lives in, as in TensorFlow Playground.
DOMAIN = (-6.0, 6.0)
#: Centres of the three clumps of ``blobs``.
BLOB_CENTRES = np.array([[-3.0, -2.0], [3.0, -2.5], [0.0, 3.0]])


def two_d(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A labelled 2-D set: ``circle``, ``xor``, ``gauss``, ``spiral``, ``moons`` or ``blobs``.

    ``noise`` is in [0, 1] (0 = perfectly clean); labels are 0/1 except ``blobs`` (0..2).
    """
    rng = np.random.default_rng(seed)
    half = n // 2
    if name == "circle":
        radius = np.concatenate([rng.uniform(0, 2.5, half), rng.uniform(3.5, 5.0, n - half)])
        angle = rng.uniform(0, 2 * np.pi, n)
        x = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
        y = np.concatenate([np.zeros(half), np.ones(n - half)])
    elif name == "xor":
        x = rng.uniform(-5, 5, (n, 2))
        x += np.sign(x) * 0.3
        y = (x[:, 0] * x[:, 1] < 0).astype(float)
    elif name == "gauss":
        x = np.concatenate([rng.normal(2, 1, (half, 2)), rng.normal(-2, 1, (n - half, 2))])
        y = np.concatenate([np.zeros(half), np.ones(n - half)])
    elif name == "spiral":
        parts = []
        for count, delta in [(half, 0.0), (n - half, np.pi)]:
            i = np.arange(count)
            radius = i / count * 5
            angle = 1.75 * i / count * 2 * np.pi + delta
            parts.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        x = np.concatenate(parts)
        y = np.concatenate([np.zeros(half), np.ones(n - half)])
    elif name == "moons":
        angle = rng.uniform(0, np.pi, n)
        x = np.where(
            (np.arange(n) < half)[:, None],
            np.column_stack([np.cos(angle), np.sin(angle)]),
            np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)]),
        )
        x = (x - [0.5, 0.25]) * 3.2
        y = (np.arange(n) >= half).astype(float)
    elif name == "blobs":
        y = np.arange(n) % 3
        x = BLOB_CENTRES[y] + rng.normal(0, 0.9, (n, 2))
    else:
        raise ValueError(name)
    x = x + rng.normal(0, 1, x.shape) * noise * 1.5
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order]


@cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits: ``(images (n, 8, 8) 0..16, labels)``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target


@cache
def photo(size: int = 40) -> np.ndarray:
    """scikit-learn's bundled photo of a Chinese temple as a grey ``size`` x ``size`` 0..255."""
    from sklearn.datasets import load_sample_image

    image = load_sample_image("china.jpg").mean(axis=2)
    rows, cols = image.shape
    side = min(rows, cols)
    top, left = (rows - side) // 2, (cols - side) // 2
    square = image[top:top + side, left:left + side]
    block = side // size
    small = square[: block * size, : block * size].reshape(size, block, size, block).mean((1, 3))
    return np.round(small).astype(np.int64)
