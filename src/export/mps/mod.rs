//! Free MPS with a `QUADOBJ` section: writer and reader.
//!
//! MPS holds `min/max ½xᵀQx + cᵀx + constant` over linear rows `lo ≤ aᵢᵀx ≤ hi` and bounds
//! `l ≤ x ≤ u`. The IR ([`ConicProgram`]) holds `min ½xᵀdiag(p)x + qᵀx + constant` subject to
//! `Ax + s = b, s ∈ K`, with free variables. The mapping, both ways:
//!
//! | IR                                   | MPS                                              |
//! |--------------------------------------|--------------------------------------------------|
//! | zero-cone row `aᵀx + s = b, s = 0`   | `E` row, `aᵀx = b`                               |
//! | nonnegative row `aᵀx + s = b, s ≥ 0` | `L` row, `aᵀx ≤ b`                               |
//! | `G` row `aᵀx ≥ r` (reader only)      | nonnegative row `−aᵀx + s = −r`                  |
//! | `p_j`                                | `QUADOBJ` diagonal entry `xj xj p_j` (`½xᵀQx`)   |
//! | `constant`                           | `RHS` of the objective row, **negated**          |
//! | free variable                        | `FR` bound                                       |
//! | bound `x ≥ l` / `x ≤ u` (reader)     | nonnegative row `−x + s = −l` / `x + s = u`      |
//! | bound `x = v` (`FX`, reader)         | zero-cone row `x + s = v`                        |
//!
//! **The objective constant.** MPS has no field for it; by the common convention (HiGHS's, which
//! was checked; most other readers document the same), the right-hand side `r` given to the
//! objective row means the objective is `cᵀx − r` (think of moving `r` across: `cᵀx − obj = −r`). So the writer puts `RHS obj −constant`
//! and the reader sets `constant = −RHS(obj)`. This was checked against HiGHS 1.16 (`highspy`):
//! `min 2x² + x` with `x = 1` fixed and `RHS obj 2.5` reports objective `0.5 = 3 − 2.5` and
//! `offset_ = −2.5`. (HiGHS picks the reader by file extension: write files as `*.mps`.)
//!
//! **The quadratic term.** `QUADOBJ` lists the lower triangle of `Q` and `QMATRIX` (and CPLEX's
//! `QSECTION` of the objective row) all of it, for the objective `½xᵀQx`; a diagonal entry is `Q_jj`
//! in both, i.e. exactly the IR's `p_j`. Off-diagonal entries cannot be held by the IR and are refused.
//!
//! The reader accepts free MPS and fixed MPS whose names contain no blanks (fields are split at
//! whitespace). It follows the usual conventions of current readers (HiGHS's in particular):
//! default bounds `0 ≤ x < ∞`, which `UP` leaves alone even when negative (as HiGHS 1.16 does;
//! some older readers then drop the lower bound); bound and range magnitudes `≥ 1e20` mean infinity; `RANGES` as in the
//! MPS standard; the first `N` row is the objective and later `N` rows are ignored. Integer markers,
//! integer or semicontinuous bounds, off-diagonal quadratic entries, quadratic constraints and
//! several `RHS`/`RANGES`/`BOUNDS` sets are refused with a message naming the line.
//!
//! [`ConicProgram`]: crate::ir::ConicProgram

mod read;
#[cfg(test)]
mod tests;
mod write;

pub use read::{ParseError, parse};
pub use write::{WriteError, write};
