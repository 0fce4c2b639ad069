//! Decoding a two-layer solution (docs/math.md §2): blocks worth less than the solver's accuracy
//! are dropped, the others become balanced neurons.

use crate::arch::two_layer::program::Layout;
use crate::loss::Loss;
use ndarray::{Array3, ArrayView1, Axis};

/// Neurons decoded from a convex solution.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// One filter per neuron.
    pub filters: Vec<Vec<f64>>,
    /// One output weight per neuron.
    pub output_weights: Vec<f64>,
    /// Sum of the norms of the blocks treated as zero.
    pub dropped_norm: f64,
}

/// The largest block-norm threshold `τ` such that dropping every block with `‖c‖ ≤ τ` raises the
/// convex objective `½‖Σ A_i(c_i − c'_i) − y‖² + β Σ‖c‖` by at most `tol`. Interior-point solutions
/// leave blocks that are zero at the optimum slightly nonzero; this finds them by what they are worth,
/// and when the optimum is the zero network, it drops everything.
pub fn noise_threshold(
    a: &Array3<f64>,
    layout: &Layout,
    x: &[f64],
    y: ArrayView1<f64>,
    beta: f64,
    tol: f64,
) -> f64 {
    let blocks: Vec<[&[f64]; 2]> = (0..layout.p)
        .map(|i| [layout.block(x, i, true), layout.block(x, i, false)])
        .collect();
    let values: Vec<[f64; 2]> = blocks
        .iter()
        .map(|b| b.map(|c| layout.norm.of(c)))
        .collect();
    block_threshold_for(layout.loss, a, &blocks, &values, y, beta, tol)
}

/// The largest threshold `τ` such that dropping every block whose regularizer value (`values`,
/// without `β`) is `≤ τ` raises `½‖Σ_i A_i(c_i − c'_i) − y‖² + β Σ values` by at most `tol`
/// (`blocks[i] = [c_i, c'_i]`). Tried from everything down to `10⁻¹²` of the largest block; 0 when
/// no block can go. The one decode tolerance of every program whose loss is `Σ_i A_i z_i`.
pub fn block_threshold(
    a: &Array3<f64>,
    blocks: &[[&[f64]; 2]],
    values: &[[f64; 2]],
    y: ArrayView1<f64>,
    beta: f64,
    tol: f64,
) -> f64 {
    block_threshold_for(Loss::Squared, a, blocks, values, y, beta, tol)
}

/// [`block_threshold`] with the loss `loss` in place of `½‖ŷ − y‖²`.
pub fn block_threshold_for(
    loss: Loss,
    a: &Array3<f64>,
    blocks: &[[&[f64]; 2]],
    values: &[[f64; 2]],
    y: ArrayView1<f64>,
    beta: f64,
    tol: f64,
) -> f64 {
    let largest = values.iter().flatten().fold(0.0_f64, |m, &v| m.max(v));
    let objective = |tau: f64| {
        let mut yhat = ndarray::Array1::<f64>::zeros(y.len());
        let mut reg = 0.0;
        for (i, (pair, vals)) in blocks.iter().zip(values).enumerate() {
            let mut z = vec![0.0; pair[0].len()];
            for ((c, &r), sign) in pair.iter().zip(vals).zip([1.0, -1.0]) {
                if r > tau {
                    reg += beta * r;
                    for (zj, cj) in z.iter_mut().zip(c.iter()) {
                        *zj += sign * cj;
                    }
                }
            }
            yhat += &a
                .index_axis(Axis(0), i)
                .dot(&ndarray::ArrayView1::from(&z[..]));
        }
        if loss.is_squared() {
            let r = &yhat - &y;
            0.5 * r.dot(&r) + reg
        } else {
            loss.value(yhat.view(), y) + reg
        }
    };
    let base = objective(0.0);
    // From the most aggressive threshold down: everything, then 10⁻¹ … 10⁻¹² of the largest block.
    (0..=12)
        .map(|k| largest * 10f64.powi(-k))
        .find(|&tau| objective(tau) <= base + tol)
        .unwrap_or(0.0)
}

/// Decodes `c_i ↦ (u = c_i/√‖c_i‖, w = √‖c_i‖)` and `c'_i ↦ (u, −√‖c'_i‖)` (docs/math.md §2;
/// §3 with the ℓ1 norm), so every neuron is balanced: `‖u‖ = |w|` in the program's norm.
/// Blocks with `‖c‖ ≤ min_norm` are dropped (see [`noise_threshold`]).
pub fn decode(layout: &Layout, x: &[f64], min_norm: f64) -> Decoded {
    let norm = |v: &[f64]| layout.norm.of(v);
    let mut out = Decoded::default();
    for i in 0..layout.p {
        for s in [true, false] {
            let c = layout.block(x, i, s);
            let r = norm(c);
            if r <= min_norm || r == 0.0 {
                out.dropped_norm += r;
                continue;
            }
            let sq = r.sqrt();
            out.filters.push(c.iter().map(|v| v / sq).collect());
            out.output_weights.push(if s { sq } else { -sq });
        }
    }
    out
}
