//! What a solve is asked to do, and the tolerances every architecture's solve shares.

use crate::backend::{Backend, Solution};
use crate::network::Weights;
use serde::Serialize;

/// Blocks are dropped as interior-point noise when together they are worth at most
/// `DECODE_ACCURACY_FACTOR` times the solver's own accuracy
/// (`|primal − dual| + tol_gap_abs + tol_gap_rel · |objective|`).
pub const DECODE_ACCURACY_FACTOR: f64 = 10.0;

/// Violations of dropped rows below `VIOLATION_REL_TOL ·` (solution scale) are accepted.
pub const VIOLATION_REL_TOL: f64 = 1e-7;

/// Progress callback: `(phase, done, total)`. The library never prints; the CLI draws bars.
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// A progress callback that reports nothing.
pub fn quiet(_: &str, _: usize, _: usize) {}

/// How the loss of the two-layer program sees the pattern blocks (docs/math.md §10, third lever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coupling {
    /// `ρ = Σ_i A_i (c_i − c'_i) − y`: the dense block appears twice.
    Direct,
    /// `ρ = Σ_i A_i z_i − y` with sparse rows `z_i = c_i − c'_i`: the dense block appears once.
    Difference,
    /// As `Difference`, with the loss compressed by a thin QR `A = QR` when `n > hP`
    /// (docs/math.md §10, second lever): `½‖Az − y‖² = ½‖Rz − Qᵀy‖² + ½(‖y‖² − ‖Qᵀy‖²)`, so the
    /// solver sees `hP` residual rows (a dense triangle) instead of `n`. Falls back to `Difference`
    /// when `n ≤ hP`.
    Compressed,
}

impl Coupling {
    /// The coupling `solve` uses unless told otherwise: `Compressed` when there are more samples
    /// than columns (`n > hP`: all 1,797 digits with 198 patterns solve in 25 s instead of 95 s),
    /// `Direct` otherwise. `Difference` was faster at n = 700, hP = 1,782 (14 s against 22 s) but
    /// stalled near 1e-7 feasibility on all 1,797 digits uncompressed, so it stays opt-in.
    pub fn for_shape(n: usize, p: usize, h: usize) -> Coupling {
        if n > p * h {
            Coupling::Compressed
        } else {
            Coupling::Direct
        }
    }
}

/// Options of a solve.
#[derive(Debug, Clone, Serialize)]
pub struct SolveOptions {
    /// Write only irredundant cone rows (docs/math.md §10).
    pub reduce: bool,
    /// Re-solves allowed when the full check finds violated rows.
    pub max_rounds: usize,
    /// The solver and its settings.
    pub backend: Backend,
    /// How the loss couples the blocks (two-layer program); `None` picks by the problem's shape.
    pub coupling: Option<Coupling>,
    /// Also certify this network (any weights of the problem's architecture, e.g. from SGD).
    pub network: Option<Weights>,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            reduce: true,
            max_rounds: 5,
            backend: Backend::default(),
            coupling: None,
            network: None,
        }
    }
}

/// The accuracy, in objective units, below which a solution's blocks are noise: the decode
/// tolerance of every architecture (`DECODE_ACCURACY_FACTOR` times the solver's gap and the
/// tolerances it was asked for).
pub fn decode_tolerance(sol: &Solution, backend: &Backend) -> f64 {
    let (abs, rel) = backend.accuracy();
    DECODE_ACCURACY_FACTOR
        * ((sol.primal_objective - sol.dual_objective).abs()
            + abs
            + rel * sol.primal_objective.abs())
}
