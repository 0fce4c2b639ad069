//! What a solve is asked to do, and the tolerances every architecture's solve shares.

use crate::backend::{Backend, Solution};
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
    pub network: Option<crate::arch::options::Weights>,
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

/// Weights of a two-layer CNN in the result-file layout: one flattened filter per neuron in
/// (channel, row, col) order, one output weight per neuron, and (only when the problem has
/// `"bias": true`) one bias per neuron.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Weights {
    /// Filters, each of length `h = C·kh·kw`.
    pub filters: Vec<Vec<f64>>,
    /// Output weights, one per filter.
    pub output_weights: Vec<f64>,
    /// Biases, one per filter; present exactly when the architecture has a bias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<f64>>,
}

impl Weights {
    /// Checks the shapes against filter length `h` (`C·kh·kw`, without the bias) and whether the
    /// architecture has a bias; the message says what does not fit.
    pub fn check(&self, h: usize, bias: bool) -> std::result::Result<(), String> {
        if self.filters.len() != self.output_weights.len() {
            return Err(format!(
                "{} filters but {} output weights; give one output weight per filter",
                self.filters.len(),
                self.output_weights.len()
            ));
        }
        match (&self.biases, bias) {
            (None, true) => {
                return Err(
                    "the problem has \"bias\": true but the network has no \"biases\"; give one \
                     bias per neuron"
                        .into(),
                );
            }
            (Some(_), false) => {
                return Err(
                    "the network has \"biases\" but the problem's architecture has no bias; drop \
                     them or set \"bias\": true in the architecture"
                        .into(),
                );
            }
            (Some(b), true) if b.len() != self.filters.len() => {
                return Err(format!(
                    "{} biases for {} filters; give one bias per filter",
                    b.len(),
                    self.filters.len()
                ));
            }
            _ => {}
        }
        if let Some((j, f)) = self.filters.iter().enumerate().find(|(_, f)| f.len() != h) {
            return Err(format!(
                "filter {j} has {} entries but the problem's filters have h = {h} \
                 (channels × kernel, in (channel, row, col) order)",
                f.len()
            ));
        }
        if let Some(v) = self
            .filters
            .iter()
            .flatten()
            .chain(&self.output_weights)
            .chain(self.biases.iter().flatten())
            .find(|v| !v.is_finite())
        {
            return Err(format!("the network holds the non-finite weight {v}"));
        }
        Ok(())
    }
}
