//! One simplicial cone of the branch and bound: its upper bound on `σ g_v` (docs/math.md,
//! "Global certificate by branch and bound") and a point where `σ g_v` is evaluated.

use crate::linalg::{dot, nnls, norm};
use ndarray::ArrayView2;

/// The weighted rows of `g_v(u) = Σ_r w_r relu(m_r·u)`, as one contiguous `nK × h` block.
pub(crate) struct Rows<'a> {
    /// Row-major `M`.
    pub(crate) m: &'a [f64],
    /// `w_r`.
    pub(crate) w: &'a [f64],
    /// Filter length.
    pub(crate) h: usize,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(m: &'a [f64], w: &'a [f64], h: usize) -> Self {
        debug_assert_eq!(m.len(), w.len() * h);
        Rows { m, w, h }
    }

    pub(crate) fn row(&self, r: usize) -> &'a [f64] {
        &self.m[r * self.h..(r + 1) * self.h]
    }

    /// `g_v(u)` over every row.
    pub(crate) fn value(&self, u: &[f64]) -> f64 {
        (0..self.w.len())
            .map(|r| self.w[r] * dot(self.row(r), u).max(0.0))
            .sum()
    }
}

/// A cone `cone(g_1, …, g_h)` and one sign `σ` of `g_v`, with what its ancestors settled: the rows
/// that are nonnegative on the whole cone are summed into the linear part `p = Σ σ w_r m_r`, rows
/// nonpositive on it are gone, and `mixed` lists the rest (some generator on each side).
#[derive(Debug, Clone)]
pub(crate) struct Cone {
    /// Generators, row `i` = `g_i` (unit vectors of one closed orthant).
    pub(crate) gens: Vec<f64>,
    /// `σ = ±1`.
    pub(crate) sign: f64,
    /// Linear part of `σ g_v` on the cone.
    pub(crate) p: Vec<f64>,
    /// Rows still crossing the cone (of the parent until [`evaluate`] reclassifies them).
    pub(crate) mixed: Vec<u32>,
    /// Splits from an orthant.
    pub(crate) depth: u32,
}

/// A cone after [`evaluate`]: its bound and its best point.
#[derive(Debug, Clone)]
pub(crate) struct Evaluated {
    pub(crate) cone: Cone,
    /// `≥ max {σ g_v(u) : u ∈ C, ‖u‖ ≤ 1}`.
    pub(crate) bound: f64,
    /// `σ g_v(point)` for a unit `point ∈ C`.
    pub(crate) value: f64,
    pub(crate) point: Vec<f64>,
}

/// Reclassifies the cone's rows and bounds `σ g_v` on it. With `u = Gλ`, `λ ≥ 0` and
/// `a_ri = m_r·g_i`: `σ g_v(u) ≤ cᵀλ` (module docs of [`super`]), and for any `z` with `Gᵀz ≥ c`,
/// `cᵀλ ≤ zᵀGλ = z·u ≤ ‖z‖`. The NNLS projection `z = Π_C(G⁻ᵀc)` is the best such `z`; what it misses
/// of `Gᵀz ≥ c` in floating point is made up by adding `δ s` with `s = Σ g_i` (`Gᵀs ≥ 1`, the
/// generators being unit vectors of one orthant), so the bound holds whatever the solver's accuracy.
pub(crate) fn evaluate(rows: &Rows, mut cone: Cone) -> Evaluated {
    let h = rows.h;
    let mut c = vec![0.0; h];
    let mut a = vec![0.0; h];
    let mut mixed = Vec::with_capacity(cone.mixed.len());
    for &r in &cone.mixed {
        let wr = cone.sign * rows.w[r as usize];
        if wr == 0.0 {
            continue;
        }
        let mr = rows.row(r as usize);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (ai, g) in a.iter_mut().zip(cone.gens.chunks_exact(h)) {
            *ai = dot(mr, g);
            lo = lo.min(*ai);
            hi = hi.max(*ai);
        }
        if lo >= 0.0 {
            for (pj, mj) in cone.p.iter_mut().zip(mr) {
                *pj += wr * mj;
            }
        } else if hi > 0.0 {
            mixed.push(r);
            if wr > 0.0 {
                // relu(Σ λ_i a_i) ≤ Σ λ_i relu(a_i).
                for (ci, ai) in c.iter_mut().zip(&a) {
                    *ci += wr * ai.max(0.0);
                }
            } else {
                // relu(t) ≥ κ t for κ ∈ [0, 1]; κ = hi / (hi − lo) balances the two worst errors
                // (1 − κ) hi and κ |lo| over the generators' range.
                let kappa = hi / (hi - lo);
                for (ci, ai) in c.iter_mut().zip(&a) {
                    *ci += wr * kappa * ai;
                }
            }
        }
    }
    // Children copy this list; keep only what it holds (the budget counts lengths).
    mixed.shrink_to_fit();
    cone.mixed = mixed;
    for (ci, g) in c.iter_mut().zip(cone.gens.chunks_exact(h)) {
        *ci += dot(&cone.p, g);
    }
    let mut s = vec![0.0; h];
    for g in cone.gens.chunks_exact(h) {
        for (sj, gj) in s.iter_mut().zip(g) {
            *sj += gj;
        }
    }
    let s_norm = norm(&s);
    let c_max = c.iter().fold(0.0_f64, |m, &v| m.max(v));
    // z = c_max · s always satisfies Gᵀz ≥ c.
    let mut bound = c_max * s_norm;
    // With γ = min_{i,j} g_i·g_j > 0, ‖Gλ‖² = λᵀ(GᵀG)λ ≥ γ(Σλ_i)², so Σλ_i ≤ 1/√γ on the unit ball
    // and cᵀλ ≤ max(c)₊/√γ: the bound of a thin cone, where the solve below loses accuracy.
    let gamma = min_dot(&cone.gens, h);
    if gamma > 0.0 {
        bound = bound.min(c_max / gamma.sqrt());
    }
    let mut z: Option<Vec<f64>> = None;
    if c_max > 0.0
        && let Some(d) = solve_transposed(&cone.gens, &c, h)
    {
        let gens = ArrayView2::from_shape((h, h), &cone.gens[..]).expect("h × h generators");
        let sol = nnls(gens, &d);
        let mut zz = vec![0.0; h];
        for (&l, g) in sol.alpha.iter().zip(cone.gens.chunks_exact(h)) {
            for (zj, gj) in zz.iter_mut().zip(g) {
                *zj += l.max(0.0) * gj;
            }
        }
        let deficit = cone
            .gens
            .chunks_exact(h)
            .zip(&c)
            .fold(0.0_f64, |m, (g, &ci)| m.max(ci - dot(g, &zz)));
        let b = norm(&zz) + deficit.max(0.0) * s_norm;
        if b.is_finite() && b < bound {
            bound = b;
        }
        z = Some(zz);
    }
    if c_max <= 0.0 {
        bound = 0.0;
    }
    // The value at the projection's direction (a point of C) and at the centre.
    let local = |u: &[f64]| -> f64 {
        let mut v = dot(&cone.p, u);
        for &r in &cone.mixed {
            v += cone.sign * rows.w[r as usize] * dot(rows.row(r as usize), u).max(0.0);
        }
        v
    };
    let centre: Vec<f64> = s.iter().map(|x| x / s_norm).collect();
    let mut point = centre.clone();
    let mut value = local(&centre);
    if let Some(zz) = z {
        let nz = norm(&zz);
        if nz > 0.0 && nz.is_finite() {
            let u: Vec<f64> = zz.iter().map(|x| x / nz).collect();
            let vu = local(&u);
            if vu > value {
                value = vu;
                point = u;
            }
        }
    }
    Evaluated {
        cone,
        bound,
        value,
        point,
    }
}

/// `min_{i,j} g_i·g_j` over the generators (rows of `gens`), the diagonal included.
pub(crate) fn min_dot(gens: &[f64], h: usize) -> f64 {
    let mut m = f64::INFINITY;
    for i in 0..h {
        for j in i..h {
            m = m.min(dot(&gens[i * h..(i + 1) * h], &gens[j * h..(j + 1) * h]));
        }
    }
    m
}

/// `d` with `Gᵀd = c` (`G`'s columns are the generators, the rows of `gens`): Gaussian elimination
/// with partial pivoting; `None` when a pivot vanishes.
fn solve_transposed(gens: &[f64], c: &[f64], h: usize) -> Option<Vec<f64>> {
    // Row i of Gᵀ is g_i: the system Σ_j g_i[j] d_j = c_i.
    let mut a = gens.to_vec();
    let mut b = c.to_vec();
    for col in 0..h {
        let piv =
            (col..h).max_by(|&x, &y| a[x * h + col].abs().total_cmp(&a[y * h + col].abs()))?;
        if a[piv * h + col].abs() < 1e-300 {
            return None;
        }
        if piv != col {
            for j in 0..h {
                a.swap(piv * h + j, col * h + j);
            }
            b.swap(piv, col);
        }
        for row in col + 1..h {
            let f = a[row * h + col] / a[col * h + col];
            if f != 0.0 {
                for j in col..h {
                    a[row * h + j] -= f * a[col * h + j];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut d = vec![0.0; h];
    for row in (0..h).rev() {
        let mut s = b[row];
        for j in row + 1..h {
            s -= a[row * h + j] * d[j];
        }
        d[row] = s / a[row * h + row];
    }
    d.iter().all(|v| v.is_finite()).then_some(d)
}

/// The two halves of `cone` cut through the midpoint of its longest edge (the pair of generators
/// with the smallest dot product), normalized.
pub(crate) fn split(cone: &Cone, h: usize) -> [Cone; 2] {
    let g = |i: usize| &cone.gens[i * h..(i + 1) * h];
    let (mut bi, mut bj, mut best) = (0, 1, f64::INFINITY);
    for i in 0..h {
        for j in i + 1..h {
            let d = dot(g(i), g(j));
            if d < best {
                (bi, bj, best) = (i, j, d);
            }
        }
    }
    let mid: Vec<f64> = g(bi).iter().zip(g(bj)).map(|(a, b)| a + b).collect();
    let nm = norm(&mid);
    let mid: Vec<f64> = mid.iter().map(|x| x / nm).collect();
    let child = |replace: usize| {
        let mut gens = cone.gens.clone();
        gens[replace * h..(replace + 1) * h].copy_from_slice(&mid);
        Cone {
            gens,
            sign: cone.sign,
            p: cone.p.clone(),
            mixed: cone.mixed.clone(),
            depth: cone.depth + 1,
        }
    };
    [child(bj), child(bi)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_solve_inverts() {
        let gens = [0.6, 0.8, 0.0, 0.0, 0.6, 0.8, 1.0, 0.0, 0.0];
        let c = [1.0, -2.0, 0.5];
        let d = solve_transposed(&gens, &c, 3).expect("regular");
        for i in 0..3 {
            assert!((dot(&gens[i * 3..i * 3 + 3], &d) - c[i]).abs() < 1e-12);
        }
    }
}
