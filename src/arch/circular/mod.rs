//! Three-layer circular CNN with one ReLU (docs/math.md §8).
//!
//! Network (`a ⊛ b` circular convolution over the whole signal, `x ∈ R^d`):
//! ```text
//! f(x) = Σ_j w_j (⟨x, a_j ⊛ b_j⟩ + e_j)_+,   min ½‖f − y‖² + (β/2) Σ_j (‖b_j‖² + e_j² + w_j²),  ‖a_j‖ ≤ 1
//! ```
//! (`e_j = 0` without a bias). Key fact: `{a ⊛ b : ‖a‖ ≤ 1, ‖b‖ ≤ ρ} = {g : ‖ĝ‖₁ ≤ dρ}`, with `ĝ` the
//! unnormalized DFT. With patterns `D_i` of `X̃ = X` (or `[X 1]` with a bias) the convex program is
//! ```text
//! min ½‖Σ_i D_i X̃ (c_i − c'_i) − y‖² + β Σ_i (R(c_i) + R(c'_i))   s.t. (2D_i − I) X̃ c_i ≥ 0, … c'_i
//! R(z) = ‖fft(z)‖₁ / d                        (no bias)
//! R(z, ζ) = ‖(‖fft(z)‖₁ / d, ζ)‖₂             (bias ζ, the last entry of the block)
//! ```
//! The bias form is derived the same way as §8: for a fixed output weight `w`, the cheapest inner
//! pair has `‖b‖ = ‖ẑ‖₁/(d|w|)` (the key fact) and `e = ζ/w`, so the regularizer is
//! `(β/2)((‖ẑ‖₁/d)² + ζ²)/w² + (β/2)w²`, minimized at `w² = R(z, ζ)` with value `β R(z, ζ)`.
//!
//! In the IR the spectral ℓ1 is exact and written in Fourier coordinates: each block is `v` with
//! `z = Q v` for the orthonormal real Fourier basis `Q` ([`dft::Dft::basis`]), the data rows are `X̃ Q`, and
//! `|ĝ_k| = √(d/mult_k) ‖v_k‖`, so the real frequencies (0, and d/2 for even d) get `u_k ≥ |v_k|` as two
//! linear rows and each conjugate pair `k, d−k` one 3-dimensional second-order cone `(u_k, v_k)` on the
//! variables themselves, weighted `β √(mult_k/d)`. (On dense rows `Re ĝ_k`, `Im ĝ_k` of `z` Clarabel
//! stalled at `almost_solved` for every d ≳ 60.) [`program::signal_solution`] maps a solution back to `z`.

pub mod certify;
pub mod decode;
pub mod dft;
pub mod program;

pub use certify::{certify, dual_value, dual_value_witness};
pub use decode::{Neuron, decode_block};
pub use dft::{Dft, block_regularizer};
pub use program::{Layout, build, data_rows, signal_solution};

use crate::arch::formulation::{self, Formulation, Prepared};
use crate::arch::options::{Coupling, Progress, SolveOptions};
use crate::arch::report::{
    CircularNetworkReport, DataReport, Header, NetworkLayout, ProgramReport, Timings, TwoLayerBody,
};
use crate::arch::two_layer;
use crate::arrangement::{self, ConeRows};
use crate::backend::Solution;
use crate::certify::Certificate;
use crate::clock::secs;
use crate::error::{Error, Result};
use crate::ir::ConicProgram;
use crate::network::CircularCnn;
use crate::problem::{Architecture, Problem};
use ndarray::{Array1, ArrayView1, s};
use std::time::Instant;

/// The prepared circular program of one problem: the data rows `X̃` as one patch, their patterns,
/// `A_i = D_i X̃` and the cone rows, with the signal length `d`.
pub struct Circular {
    /// `X̃` as one patch, patterns, `A_i`, cone rows.
    pub prep: Prepared,
    /// Signal length.
    pub d: usize,
    /// Layers `L ≥ 3` of the network (the program is the same for every `L`: docs/math.md §8).
    pub layers: usize,
}

/// Data rows, patterns (gates in `R^h` on `X̃`, as two_layer with one patch), `A_i` and cone rows.
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Circular> {
    let Architecture::Circular { bias, layers } = problem.architecture else {
        return Err(Error::input(
            &problem.source,
            "this is the circular program, but the problem's architecture is another kind",
        ));
    };
    if options.coupling.is_some_and(|c| c != Coupling::Direct) {
        return Err(Error::input(
            &problem.source,
            "the circular program is written with the direct coupling only; drop --coupling \
             (or pass --coupling direct)",
        ));
    }
    let mut timings = Timings::default();
    let t = Instant::now();
    let d = problem.x.dim().3;
    let patches = data_rows(problem, bias);
    let arr = arrangement::build(&patches, &problem.arrangements).map_err(|e| match e {
        Error::Exact(e) => Error::input(&problem.source, e.to_string()),
        other => other,
    })?;
    two_layer::no_empty_arrangement(problem, &arr)?;
    let a = two_layer::pattern_matrices(&patches, &arr, &[1.0]);
    timings.arrangements_s = secs(t);
    let t = Instant::now();
    let rows = two_layer::cone_rows(&patches, &arr, options, progress);
    timings.reduction_s = secs(t);
    Ok(Circular {
        prep: Prepared {
            patches,
            arrangement: arr,
            a,
            rows,
            timings,
        },
        d,
        layers,
    })
}

impl Circular {
    /// The solution with every block mapped back to the signal domain.
    fn blocks_of(&self, layout: &Layout, x: &[f64]) -> (Vec<f64>, usize) {
        (
            signal_solution(layout, x),
            self.prep.arrangement.patterns.len(),
        )
    }
}

impl Formulation for Circular {
    type Body = TwoLayerBody;
    type Inverse = Layout;
    type Network = CircularCnn;

    fn check(problem: &Problem, options: &SolveOptions) -> Result<()> {
        if options.network.is_some() {
            return Err(Error::input(
                &problem.source,
                "--network is not supported for \"circular\" networks yet; certify the optimum \
                 without it",
            ));
        }
        Ok(())
    }

    fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Self> {
        prepare(problem, options, progress)
    }

    fn prepared(&self) -> &Prepared {
        &self.prep
    }

    fn build(&self, problem: &Problem, rows: &ConeRows) -> (ConicProgram, Layout) {
        build(
            self.prep.patches.stacked(),
            &self.prep.arrangement,
            &self.prep.a,
            problem.y.view(),
            problem.beta,
            rows,
            self.d,
            problem.loss,
        )
    }

    fn blocks(&self, layout: &Layout, x: &[f64]) -> Vec<(usize, Vec<f64>)> {
        let (xs, p) = self.blocks_of(layout, x);
        (0..p)
            .flat_map(|i| [true, false].map(|sg| (i, layout.block(&xs, i, sg).to_vec())))
            .collect()
    }

    fn decode(
        &self,
        problem: &Problem,
        layout: &Layout,
        sol: &Solution,
        tol: f64,
    ) -> formulation::Decoded<CircularCnn> {
        let (xs, p) = self.blocks_of(layout, &sol.x);
        let dft = Dft::new(self.d);
        let bias = self.prep.patches.h() == self.d + 1;
        let values: Vec<[f64; 2]> = (0..p)
            .map(|i| [true, false].map(|sg| block_regularizer(&dft, layout.block(&xs, i, sg))))
            .collect();
        let blocks: Vec<[&[f64]; 2]> = (0..p)
            .map(|i| [layout.block(&xs, i, true), layout.block(&xs, i, false)])
            .collect();
        let min_value = two_layer::decode::block_threshold_for(
            problem.loss,
            &self.prep.a,
            &blocks,
            &values,
            problem.y.view(),
            problem.beta,
            tol,
        );
        let mut net = CircularCnn {
            biases: bias.then(Vec::new),
            ..CircularCnn::default()
        };
        for (i, vals) in values.iter().enumerate() {
            for (pos, &r) in [true, false].iter().zip(vals) {
                if r <= min_value {
                    continue;
                }
                if let Some(nr) = decode_block(&dft, layout.block(&xs, i, *pos), *pos) {
                    net.inner_filters.push(nr.inner);
                    net.filters.push(nr.filter);
                    net.output_weights.push(nr.weight);
                    if let (Some(e), Some(v)) = (net.biases.as_mut(), nr.bias) {
                        e.push(v);
                    }
                }
            }
        }
        // Deeper networks: the further circulant filters are identities (δ₀, every gain 1), which
        // attain the three-layer bound (docs/math.md §8).
        let mut delta = vec![0.0; self.d];
        delta[0] = 1.0;
        net.circulant_filters = vec![vec![delta; net.width()]; self.layers - 3];
        let x2 = problem.x.slice(s![.., 0, 0, ..]);
        let outputs = net.forward(x2);
        let objective = if problem.loss.is_squared() {
            net.objective(x2, problem.y.view(), problem.beta)
        } else {
            crate::network::Objective::new(
                problem.loss.value(outputs.view(), problem.y.view()),
                net.regularizer(problem.beta),
            )
        };
        formulation::Decoded {
            objective,
            outputs,
            // ‖a_j‖ ≤ 1 and the circulants' gains ≤ 1 are the network's constraints, not rows of
            // the program.
            extra_violation: (net.max_inner_norm() - 1.0).max(net.max_circulant_gain() - 1.0),
            network: net,
        }
    }

    fn solver_duals(&self, _: &Problem, layout: &Layout, sol: &Solution) -> Vec<Array1<f64>> {
        let rows = layout.residual_row..layout.residual_row + layout.n;
        vec![ArrayView1::from(&sol.z[rows]).to_owned()]
    }

    fn certify(
        &self,
        problem: &Problem,
        _: &Layout,
        _: &Solution,
        rows: &ConeRows,
        candidates: &[Array1<f64>],
        objective: f64,
    ) -> Certificate {
        certify(
            problem.loss,
            self.d,
            self.prep.patches.stacked(),
            &self.prep.arrangement,
            &self.prep.a,
            rows,
            problem.y.view(),
            candidates,
            problem.beta,
            objective,
        )
    }

    fn body(
        &self,
        _: &Problem,
        header: Header,
        decoded: formulation::Decoded<CircularCnn>,
        max_constraint_violation: f64,
    ) -> TwoLayerBody {
        let net = decoded.network;
        TwoLayerBody {
            header,
            neurons: net.width(),
            filters: net.filters,
            output_weights: net.output_weights,
            inner_filters: Some(net.inner_filters),
            circulant_filters: (self.layers > 3).then_some(net.circulant_filters),
            biases: net.biases,
            max_constraint_violation,
        }
    }

    fn program_report(
        &self,
        _: &Problem,
        options: &SolveOptions,
        program: &ConicProgram,
        _: &Layout,
        rows: &ConeRows,
    ) -> ProgramReport {
        let (p, n, _) = self.prep.a.dim();
        ProgramReport {
            variables: program.n_vars(),
            rows: program.n_rows(),
            nonzeros: program.entries.len(),
            cone_rows_full: 2 * p * n,
            cone_rows_written: 2 * rows.iter().map(Vec::len).sum::<usize>(),
            reduced: options.reduce,
            coupling: Coupling::Direct,
        }
    }

    fn layout(&self, _: &Problem) -> NetworkLayout {
        NetworkLayout::Circular(CircularNetworkReport {
            kind: "circular",
            signal_len: self.d,
            bias: self.prep.patches.h() == self.d + 1,
            layers: (self.layers > 3).then_some(self.layers),
        })
    }

    fn data(&self, problem: &Problem) -> DataReport {
        DataReport {
            n: problem.n(),
            channels: 1,
            input_shape: vec![1, self.d],
            patches: 1,
            filter_len: self.d,
        }
    }
}
