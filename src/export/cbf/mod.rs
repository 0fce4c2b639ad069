//! Conic Benchmark Format (CBF, version 3) writer and reader.
//!
//! CBF states a problem as
//!
//! ```text
//! min/max  gᵀx + g₀   s.t.   a x + β ∈ K_con,   x ∈ K_var
//! ```
//! (`ACOORD`/`BCOORD` hold `a` and `β` of the rows, `OBJACOORD`/`OBJBCOORD` hold `g` and `g₀`), while
//! the IR states `min ½xᵀdiag(p)x + qᵀx + c  s.t.  Ax + s = b, s ∈ K`.
//!
//! **Writing.** An IR row `s = b − A x ∈ K` is the CBF row `a = −A`, `β = b` in the same cone:
//! zero → `L=`, nonnegative → `L+`, second-order → `Q` (`x₁ ≥ ‖x₂..‖`), rotated second-order → `QR`
//! (`2 x₁ x₂ ≥ ‖x₃..‖², x₁, x₂ ≥ 0`, the IR's own convention). CBF has no quadratic objective, so
//! when some `p_j > 0` the writer appends one variable `t` (after the program's own) with objective
//! coefficient 1 and one last `QR` block of rows `(t, 1, √p_j x_j for each p_j > 0)`:
//! `2·t·1 ≥ Σ p_j x_j²  ⇔  t ≥ ½xᵀdiag(p)x`, tight at the optimum. The constant goes in `OBJBCOORD`.
//! The file's optimal value therefore equals the program's, constant included.
//!
//! **Reading.** Continuous problems with the domains `F`, `L+`, `L-`, `L=`, `Q`, `QR` (for variables
//! and rows) are read; integer, semidefinite, power and exponential parts are refused with a
//! [`ParseError`]. `OBJSENSE MAX` negates the objective (the IR always minimizes), so the IR's
//! optimal value is then the *negative* of the file's.

mod read;
#[cfg(test)]
mod tests;
mod write;

pub use read::{MAX_DIMENSION, ParseError, parse};
pub use write::write;
