#!/usr/bin/env python3
"""Write Gaussian gate filters for `"arrangements": {"mode": "gates"}`.

    python bench/make_gates.py --h 9 --count 50 --seed 0 --out bench/data/gates_h9_g50_s0.npy

The gates are numpy.random.default_rng(seed).standard_normal((count, h)) as float64, so the same
arguments give the same file on any machine with numpy >= 1.17 (PCG64 stream is stable).
"""
import argparse
import os
import sys

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--h", type=int, required=True, help="filter size h = C*kh*kw")
    parser.add_argument("--count", type=int, required=True, help="number of gates G")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True, help="output .npy path ([G, h] float64)")
    args = parser.parse_args()
    if args.h < 1 or args.count < 1:
        print("make_gates: --h and --count must be positive", file=sys.stderr)
        return 2
    gates = np.random.default_rng(args.seed).standard_normal((args.count, args.h))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    np.save(args.out, gates.astype(np.float64))
    return 0


if __name__ == "__main__":
    sys.exit(main())
