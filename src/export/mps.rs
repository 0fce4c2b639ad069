//! Free MPS with QUADOBJ writer and reader. (Being written.)
