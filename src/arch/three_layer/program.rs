//! The three-layer program in the IR (docs/math.md §9): outer patterns, the layout of the groups'
//! blocks, and the SOCP.

use crate::arrangement::{Arrangement, ConeRows};
use crate::ir::{ConeKind, ConicProgram};
use ndarray::{Array1, Array3, ArrayView1, ArrayView2, Axis};
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::HashSet;

/// The outer patterns `D'_l` of a three-layer program.
#[derive(Debug, Clone)]
pub struct OuterPatterns {
    /// `on[l][t]`: whether sample `t` is active in `D'_l`; distinct, none all-zero.
    pub on: Vec<Vec<bool>>,
    /// Generating sub-networks drawn (sample mode) or patterns listed (all mode), before
    /// deduplication.
    pub candidates: usize,
}

/// Outer patterns sampled jointly: each of `count` generating sub-networks takes `1..=m1` gates of
/// the inner arrangement (each gate lies in its own pattern's cone, so its pooled output is
/// `A_i g_i`), normalized, with random signs and log-normal positive scales; its output
/// `u = Σ ±s A_i g_i/‖A_i g_i‖` gives `D' = 1[u ≥ 0]`. Deterministic in `seed`.
pub fn sample_outer(
    a: &Array3<f64>,
    arrangement: &Arrangement,
    count: usize,
    m1: usize,
    seed: u64,
) -> OuterPatterns {
    let (p, n, _) = a.dim();
    let pooled: Vec<Array1<f64>> = (0..p)
        .map(|i| {
            let v = a
                .index_axis(Axis(0), i)
                .dot(&ArrayView1::from(&arrangement.patterns[i].gate[..]));
            let norm = v.dot(&v).sqrt();
            if norm > 0.0 { v / norm } else { v }
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut on = Vec::new();
    for _ in 0..count {
        let width = rng.random_range(1..=m1.max(1));
        let mut u = Array1::<f64>::zeros(n);
        for _ in 0..width {
            let i = rng.random_range(0..p);
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let z: f64 = StandardNormal.sample(&mut rng);
            u.scaled_add(sign * z.exp(), &pooled[i]);
        }
        let d: Vec<bool> = u.iter().map(|&v| v >= 0.0).collect();
        if d.iter().any(|&b| b) && seen.insert(d.clone()) {
            on.push(d);
        }
    }
    OuterPatterns {
        on,
        candidates: count,
    }
}

/// Every nonzero `D' ∈ {0,1}ⁿ` (bit `t` of `l + 1` is sample `t`).
pub fn all_outer(n: usize) -> OuterPatterns {
    let on: Vec<Vec<bool>> = (1..(1usize << n))
        .map(|mask| (0..n).map(|t| mask >> t & 1 == 1).collect())
        .collect();
    OuterPatterns {
        candidates: on.len(),
        on,
    }
}

/// Where each variable and row block of the three-layer program lives.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Samples.
    pub n: usize,
    /// Filter length.
    pub h: usize,
    /// Inner patterns `P`.
    pub p: usize,
    /// Groups `2L`: group `g` has outer pattern `g / 2` and sign `+` for even `g`, `−` for odd.
    pub groups: usize,
    /// First residual variable `ρ = Σ_G σ D' u_G − y` (`n`).
    pub rho: usize,
    /// First `u_G` variable (`groups · n`, group-major).
    pub u: usize,
    /// First block variable: block `b = (g·P + i)·2 + s` (`s = 0` for `c⁺`, 1 for `c⁻`) at `c + b·h`.
    pub c: usize,
    /// First norm epigraph `t_b ≥ ‖c_b‖`.
    pub t: usize,
    /// First residual row (`n`; multipliers = dual vector `v`).
    pub residual_row: usize,
    /// First outer-cone row (`groups · n`, group-major; multipliers = `μ_G`), if written.
    pub outer_row: Option<usize>,
}

impl Layout {
    /// Number of blocks `4·P·L`.
    pub fn blocks(&self) -> usize {
        self.groups * self.p * 2
    }

    /// Index of block `(g, i, s)`.
    pub fn block_index(&self, g: usize, i: usize, s: usize) -> usize {
        (g * self.p + i) * 2 + s
    }

    /// Block `b` in a solution vector.
    pub fn block<'a>(&self, x: &'a [f64], b: usize) -> &'a [f64] {
        &x[self.c + b * self.h..self.c + (b + 1) * self.h]
    }

    /// `σ` of group `g`.
    pub fn sign(g: usize) -> f64 {
        if g.is_multiple_of(2) { 1.0 } else { -1.0 }
    }
}

/// Builds the SOCP above. `rows[i]` are the inner cone rows written for pattern `i` (indices into
/// `m`, reduced or all); every outer row is written. `outer_cone = false` drops the outer rows
/// (an ablation for tests: without them decoding is not exact).
#[allow(clippy::too_many_arguments)]
pub fn build(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    outer: &OuterPatterns,
    y: ArrayView1<f64>,
    beta: f64,
    rows: &ConeRows,
    outer_cone: bool,
) -> (ConicProgram, Layout) {
    let (p, n, h) = a.dim();
    let groups = 2 * outer.on.len();
    let mut prog = ConicProgram::new();
    let rho = prog.add_vars("rho", n);
    let u = prog.add_vars("u", groups * n);
    let c = prog.add_vars("c", groups * p * 2 * h);
    let t = prog.add_vars("t", groups * p * 2);
    let mut layout = Layout {
        n,
        h,
        p,
        groups,
        rho,
        u,
        c,
        t,
        residual_row: 0,
        outer_row: None,
    };
    for j in 0..n {
        prog.p_diag[rho + j] = 1.0;
    }
    for b in 0..layout.blocks() {
        prog.q[t + b] = beta;
    }
    // ρ − Σ_G σ D' u_G = −y.
    let r0 = prog.add_rows("residual", ConeKind::Zero, n);
    layout.residual_row = r0;
    for s in 0..n {
        prog.b[r0 + s] = -y[s];
        prog.push(r0 + s, rho + s, 1.0);
        for g in 0..groups {
            if outer.on[g / 2][s] {
                prog.push(r0 + s, u + g * n + s, -Layout::sign(g));
            }
        }
    }
    // u_G − Σ_i A_i (c⁺ − c⁻) = 0.
    let rc = prog.add_rows("coupling", ConeKind::Zero, groups * n);
    for g in 0..groups {
        for s in 0..n {
            let row = rc + g * n + s;
            prog.push(row, u + g * n + s, 1.0);
            for i in 0..p {
                let (bp, bm) = (layout.block_index(g, i, 0), layout.block_index(g, i, 1));
                for j in 0..h {
                    let v = a[[i, s, j]];
                    prog.push(row, c + bp * h + j, -v);
                    prog.push(row, c + bm * h + j, v);
                }
            }
        }
    }
    // (2D' − I) u_G ≥ 0, every row.
    if outer_cone {
        let ro = prog.add_rows("outer_cone", ConeKind::Nonnegative, groups * n);
        layout.outer_row = Some(ro);
        for g in 0..groups {
            for s in 0..n {
                let e = if outer.on[g / 2][s] { 1.0 } else { -1.0 };
                prog.push(ro + g * n + s, u + g * n + s, -e);
            }
        }
    }
    // B_i c ≥ 0 on the rows kept for pattern i.
    for g in 0..groups {
        for (i, kept) in rows.iter().enumerate() {
            let on = &arrangement.patterns[i].on;
            for s in 0..2 {
                let b = layout.block_index(g, i, s);
                let r = prog.add_rows(
                    &format!("cone[{g},{i},{s}]"),
                    ConeKind::Nonnegative,
                    kept.len(),
                );
                for (q, &row) in kept.iter().enumerate() {
                    let sigma = if on[row] { 1.0 } else { -1.0 };
                    for j in 0..h {
                        prog.push(r + q, c + b * h + j, -sigma * m[[row, j]]);
                    }
                }
            }
        }
    }
    // (t_b, c_b) ∈ SOC.
    for b in 0..layout.blocks() {
        let r = prog.add_rows(&format!("norm[{b}]"), ConeKind::SecondOrder, h + 1);
        prog.push(r, t + b, -1.0);
        for j in 0..h {
            prog.push(r + 1 + j, c + b * h + j, -1.0);
        }
    }
    (prog, layout)
}
