//! Conic Benchmark Format (CBF v3) writer and reader. (Being written.)
