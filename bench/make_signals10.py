"""Writes bench/data/signals10_*.npy: a 10-class problem of 1-D signals for the one-vs-rest benchmark.

Class c is a template (a sum of two Gaussian bumps at positions and widths fixed by the seed), placed at
a random shift, scaled by a random amplitude in [0.7, 1.3], plus Gaussian noise (σ = 0.3). 4,000
training and 1,000 held-out signals of length 40, float64 `[n, 1, 40]`, labels int64 0–9.

    python3 bench/make_signals10.py        # deterministic: seed 0
"""

import pathlib

import numpy as np

LENGTH = 40
CLASSES = 10


def make(rng, templates, n):
    labels = rng.integers(0, CLASSES, size=n)
    x = np.zeros((n, 1, LENGTH))
    grid = np.arange(LENGTH)
    for i, c in enumerate(labels):
        shift = rng.integers(-6, 7)
        amp = rng.uniform(0.7, 1.3)
        (p1, w1, a1), (p2, w2, a2) = templates[c]
        x[i, 0] = amp * (
            a1 * np.exp(-0.5 * ((grid - p1 - shift) / w1) ** 2)
            + a2 * np.exp(-0.5 * ((grid - p2 - shift) / w2) ** 2)
        )
    x += 0.3 * rng.standard_normal(x.shape)
    return x, labels.astype(np.int64)


def main():
    rng = np.random.default_rng(0)
    templates = [
        [(rng.uniform(10, 30), rng.uniform(1, 4), rng.choice([-1.0, 1.0])) for _ in range(2)]
        for _ in range(CLASSES)
    ]
    out = pathlib.Path(__file__).parent / "data"
    out.mkdir(exist_ok=True)
    x, y = make(rng, templates, 4000)
    xt, yt = make(rng, templates, 1000)
    np.save(out / "signals10_x.npy", x)
    np.save(out / "signals10_y.npy", y)
    np.save(out / "signals10_test_x.npy", xt)
    np.save(out / "signals10_test_y.npy", yt)


if __name__ == "__main__":
    main()
