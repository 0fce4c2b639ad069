//! One simplicial cone of the branch and bound: its upper bound on `σ g_v` (docs/math.md,
//! "Global certificate by branch and bound") and a point where `σ g_v` is evaluated.

use crate::linalg::{dot, nnls, norm};
use ndarray::ArrayView2;
use std::collections::HashMap;

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

/// The rows of `g_v` with every direction once: `Σ_r w_r relu(m_r·u)` is unchanged when rows that
/// are positive multiples of one another are merged, since `relu(s·t) = s·relu(t)` for `s > 0`.
/// Each row is scaled by its largest absolute entry `s_r` (division is correctly rounded, so exact
/// multiples give bit-identical scaled rows), and rows with the same scaled row add their weights
/// `w_r s_r`. Zero rows and directions whose weights cancel to zero are left out. The merged rows
/// keep the order of their first occurrence. Returns `(rows, weights)`, rows flat `h` at a time.
pub(crate) fn merge_directions(m: &[f64], w: &[f64], h: usize) -> (Vec<f64>, Vec<f64>) {
    let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
    let (mut rows, mut weights) = (Vec::new(), Vec::new());
    for (mr, &wr) in m.chunks_exact(h).zip(w) {
        let s = mr.iter().fold(0.0_f64, |a, x| a.max(x.abs()));
        if s == 0.0 || wr == 0.0 {
            continue;
        }
        // `+ 0.0` makes −0 and +0 one key.
        let scaled: Vec<f64> = mr.iter().map(|x| x / s + 0.0).collect();
        let key: Vec<u64> = scaled.iter().map(|x| x.to_bits()).collect();
        let k = *index.entry(key).or_insert_with(|| {
            rows.extend_from_slice(&scaled);
            weights.push(0.0);
            weights.len() - 1
        });
        weights[k] += wr * s;
    }
    let keep: Vec<usize> = (0..weights.len()).filter(|&k| weights[k] != 0.0).collect();
    let rows = keep
        .iter()
        .flat_map(|&k| rows[k * h..(k + 1) * h].iter().copied())
        .collect();
    (rows, keep.iter().map(|&k| weights[k]).collect())
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
    /// Rows crossing the cone (for an initial orthant: every row, until [`evaluate`] reclassifies
    /// them).
    pub(crate) mixed: Vec<u32>,
    /// Splits from an orthant.
    pub(crate) depth: u32,
}

/// A cone after [`evaluate`] or [`split_evaluate`]: its bound and its best point.
#[derive(Debug, Clone)]
pub(crate) struct Evaluated {
    pub(crate) cone: Cone,
    /// `≥ max {σ g_v(u) : u ∈ C, ‖u‖ ≤ 1}`.
    pub(crate) bound: f64,
    /// `σ g_v(point)` for a unit `point ∈ C`; `−∞` (and `point` empty) when the bound is below
    /// the incumbent the cone was evaluated against.
    pub(crate) value: f64,
    pub(crate) point: Vec<f64>,
}

/// One cone's rows being reclassified: its linear part, the coefficients `c` of its bound in
/// generator coordinates, and its crossing rows with their `a_ri = m_r·g_i`.
#[derive(Default)]
struct Tally {
    p: Vec<f64>,
    c: Vec<f64>,
    mixed: Vec<u32>,
    a: Vec<f64>,
}

impl Tally {
    fn reset(&mut self, p: &[f64]) {
        self.p.clear();
        self.p.extend_from_slice(p);
        self.c.clear();
        self.c.resize(p.len(), 0.0);
        self.mixed.clear();
        self.a.clear();
    }

    /// Row `r` (`m_r`, weight `wr = σ w_r`) with its values `a` at the generators, whose least and
    /// largest are `lo` and `hi`: into the linear part when nonnegative on the cone, dropped when
    /// nonpositive, relaxed into `c` when crossing.
    #[inline(always)]
    fn take(&mut self, r: u32, mr: &[f64], wr: f64, a: &[f64], lo: f64, hi: f64) {
        if lo >= 0.0 {
            for (pj, mj) in self.p.iter_mut().zip(mr) {
                *pj += wr * mj;
            }
        } else if hi > 0.0 {
            self.mixed.push(r);
            self.a.extend_from_slice(a);
            if wr > 0.0 {
                // relu(Σ λ_i a_i) ≤ Σ λ_i relu(a_i).
                for (ci, ai) in self.c.iter_mut().zip(a) {
                    *ci += wr * ai.max(0.0);
                }
            } else {
                // relu(t) ≥ κ t for κ ∈ [0, 1]; κ = hi / (hi − lo) balances the two worst errors
                // (1 − κ) hi and κ |lo| over the generators' range.
                let kappa = hi / (hi - lo);
                for (ci, ai) in self.c.iter_mut().zip(a) {
                    *ci += wr * kappa * ai;
                }
            }
        }
    }
}

/// Per-thread buffers of [`evaluate`] and [`split_evaluate`]: one tally per half.
#[derive(Default)]
pub(crate) struct Scratch {
    halves: [Tally; 2],
}

fn range(a: &[f64]) -> (f64, f64) {
    a.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Evaluates a cone from scratch (the initial orthants): every row of `cone.mixed` is
/// reclassified from `a_ri = m_r·g_i`.
pub(crate) fn evaluate(rows: &Rows, cone: Cone, floor: f64, scratch: &mut Scratch) -> Evaluated {
    let h = rows.h;
    let t = &mut scratch.halves[0];
    t.reset(&cone.p);
    let mut a = [0.0; super::MAX_FILTER_LEN];
    let a = &mut a[..h];
    // Merged rows have nonzero weights (`merge_directions`).
    for &r in &cone.mixed {
        let wr = cone.sign * rows.w[r as usize];
        let mr = rows.row(r as usize);
        for (ai, g) in a.iter_mut().zip(cone.gens.chunks_exact(h)) {
            *ai = dot(mr, g);
        }
        let (lo, hi) = range(a);
        t.take(r, mr, wr, a, lo, hi);
    }
    finish(rows, cone.gens, cone.sign, cone.depth, t, floor)
}

/// Splits `parent` in two through the midpoint of its longest edge (the pair of generators `g_i`,
/// `g_j` with the smallest dot product; the midpoint `(g_i + g_j)/‖g_i + g_j‖`) and evaluates both
/// halves in one pass over the parent's crossing rows. Each row's `a_r = m_r·g` is computed once for
/// the parent's generators; the midpoint's is `(a_ri + a_rj)/‖g_i + g_j‖`.
pub(crate) fn split_evaluate(
    rows: &Rows,
    parent: &Cone,
    floor: f64,
    scratch: &mut Scratch,
) -> [Evaluated; 2] {
    let h = rows.h;
    let g = |i: usize| &parent.gens[i * h..(i + 1) * h];
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
    // Half 0 replaces g_j by the midpoint, half 1 replaces g_i.
    let [t0, t1] = &mut scratch.halves;
    t0.reset(&parent.p);
    t1.reset(&parent.p);
    let edge = Edge { bi, bj, nm };
    // The row loop with the filter length known at compile time: its values stay in registers.
    macro_rules! by_length {
        ($($n:literal)*) => {
            match h {
                $($n => split_rows::<$n>(rows, parent, edge, t0, t1),)*
                _ => unreachable!("h ≤ MAX_FILTER_LEN = 16"),
            }
        };
    }
    by_length!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    let half = |replace: usize| {
        let mut gens = parent.gens.clone();
        gens[replace * h..(replace + 1) * h].copy_from_slice(&mid);
        gens
    };
    [
        finish(rows, half(bj), parent.sign, parent.depth + 1, t0, floor),
        finish(rows, half(bi), parent.sign, parent.depth + 1, t1, floor),
    ]
}

/// The edge a split cuts: generators `bi` and `bj`, and `‖g_i + g_j‖`.
#[derive(Clone, Copy)]
struct Edge {
    bi: usize,
    bj: usize,
    nm: f64,
}

/// The row loop of [`split_evaluate`] for filters of length `H`: each crossing row of `parent` into
/// both halves' tallies.
fn split_rows<const H: usize>(
    rows: &Rows,
    parent: &Cone,
    Edge { bi, bj, nm }: Edge,
    t0: &mut Tally,
    t1: &mut Tally,
) {
    let mut gens = [[0.0; H]; H];
    for (g, src) in gens.iter_mut().zip(parent.gens.chunks_exact(H)) {
        g.copy_from_slice(src);
    }
    for &r in &parent.mixed {
        let wr = parent.sign * rows.w[r as usize];
        let mr: &[f64; H] = rows.row(r as usize).try_into().expect("rows of length h");
        let mut a = [0.0; H];
        for (ai, g) in a.iter_mut().zip(&gens) {
            *ai = mr.iter().zip(g).map(|(x, y)| x * y).sum();
        }
        let (ai, aj) = (a[bi], a[bj]);
        let am = (ai + aj) / nm;
        // The range over the generators both halves share, then each half's own two.
        a[bi] = am;
        a[bj] = am;
        let (lo, hi) = range(&a);
        let mut b = a;
        a[bi] = ai;
        b[bj] = aj;
        t0.take(r, mr, wr, &a, lo.min(ai), hi.max(ai));
        t1.take(r, mr, wr, &b, lo.min(aj), hi.max(aj));
    }
}

/// The cone of generators `gens` from its tally: its bound on `σ g_v`, and its best point. With
/// `u = Gλ`, `λ ≥ 0`: `σ g_v(u) ≤ cᵀλ` (module docs of [`super`]), and for any `z` with `Gᵀz ≥ c`,
/// `cᵀλ ≤ zᵀGλ = z·u ≤ ‖z‖`. The NNLS projection `z = Π_C(G⁻ᵀc)` is the best such `z`; what it misses
/// of `Gᵀz ≥ c` in floating point is made up by adding `δ s` with `s = Σ g_i` (`Gᵀs ≥ 1`, the
/// generators being unit vectors of one orthant), so the bound holds whatever the solver's accuracy.
///
/// The cone's best point is looked for only when its bound is above `floor` (the incumbent: no
/// point of a cone bounded by it can improve on it); otherwise `value` is `−∞` and `point` empty.
fn finish(rows: &Rows, gens: Vec<f64>, sign: f64, depth: u32, t: &Tally, floor: f64) -> Evaluated {
    let h = rows.h;
    let mut c = t.c.clone();
    let cone = Cone {
        gens,
        sign,
        p: t.p.clone(),
        // Exactly as long as it must be: the budget counts lengths.
        mixed: t.mixed.clone(),
        depth,
    };
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
    let mut lambda: Option<Vec<f64>> = None;
    if c_max > 0.0
        && let Some(d) = solve_transposed(&cone.gens, &c, h)
    {
        let gens = ArrayView2::from_shape((h, h), &cone.gens[..]).expect("h × h generators");
        let sol = nnls(gens, &d);
        let l: Vec<f64> = sol.alpha.iter().map(|x| x.max(0.0)).collect();
        let mut zz = vec![0.0; h];
        for (&li, g) in l.iter().zip(cone.gens.chunks_exact(h)) {
            for (zj, gj) in zz.iter_mut().zip(g) {
                *zj += li * gj;
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
        lambda = Some(l);
    }
    if c_max <= 0.0 {
        bound = 0.0;
    }
    if bound <= floor {
        return Evaluated {
            cone,
            bound,
            value: f64::NEG_INFINITY,
            point: Vec::new(),
        };
    }
    // The value at u = Gμ/‖Gμ‖ for the centre (μ = 1) and the projection's direction (μ = λ):
    // m_r·u = Σ μ_i a_ri / ‖Gμ‖ on the crossing rows.
    let at = |mu: &[f64]| -> Option<(f64, Vec<f64>)> {
        let mut u = vec![0.0; h];
        for (&mi, g) in mu.iter().zip(cone.gens.chunks_exact(h)) {
            for (uj, gj) in u.iter_mut().zip(g) {
                *uj += mi * gj;
            }
        }
        let nu = norm(&u);
        if !(nu > 0.0 && nu.is_finite()) {
            return None;
        }
        let mut v = 0.0;
        for (&r, ar) in cone.mixed.iter().zip(t.a.chunks_exact(h)) {
            v += rows.w[r as usize] * dot(ar, mu).max(0.0);
        }
        let v = (cone.sign * v + dot(&cone.p, &u)) / nu;
        u.iter_mut().for_each(|x| *x /= nu);
        Some((v, u))
    };
    let (mut value, mut point) = at(&vec![1.0; h]).unwrap_or((f64::NEG_INFINITY, Vec::new()));
    if let Some((vl, ul)) = lambda.as_deref().and_then(at)
        && vl > value
    {
        (value, point) = (vl, ul);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_directions_give_the_same_function() {
        // Rows 0, 2 and 4 share a direction (2× and 0.5×), row 3 is zero, rows 1 and 5 cancel.
        let m = [
            1.0, -2.0, 3.0, //
            0.5, 0.25, -1.0, //
            2.0, -4.0, 6.0, //
            0.0, 0.0, 0.0, //
            0.5, -1.0, 1.5, //
            1.0, 0.5, -2.0,
        ];
        let w = [0.3, 2.0, -0.7, 5.0, 1.1, -1.0];
        let (rows, weights) = merge_directions(&m, &w, 3);
        assert_eq!(weights.len(), 1, "one direction left: {weights:?}");
        let all = Rows::new(&m, &w, 3);
        let merged = Rows::new(&rows, &weights, 3);
        for u in [
            [1.0, 0.0, 0.0],
            [0.2, -0.9, 0.4],
            [-0.5, 0.5, 0.7],
            [0.0, 0.6, -0.8],
        ] {
            let (a, b) = (all.value(&u), merged.value(&u));
            assert!((a - b).abs() <= 1e-14 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }

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
