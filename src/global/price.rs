//! The pricing search: unit filters `u` whose dual value `|g_v(u)|` exceeds β.
//!
//! For a dual vector `v` the dual constraint over **all** patterns is `max_{‖u‖ ≤ 1} |g_v(u)| ≤ β`
//! with `g_v(u) = Σ_r w_r relu(m_r · u)` over the rows `m_r` of the stacked patches (`w_r = α_k v_t`
//! for row `r = k·n + t`). Inside the cell of a pattern `D`, `g_v` is linear with gradient
//! `A_Dᵀv = Σ_r D_r w_r m_r`. The search ascends `σ g_v` (`σ = ±1`) on the sphere from a start:
//! `u ← (u + η σ A_{D(u)}ᵀ v) / ‖·‖`, the step `η` halving when the value does not rise. Any `u`
//! it reaches with `σ g_v(u) > β` names a violated pattern — its own cell `D(u)`, with `u` as the
//! gate that generates it — because the cell's dual value is at least the value at any of its
//! points. Nothing here is trusted beyond that: the program solved with the added pattern decides.

use ndarray::{Array1, ArrayView1, ArrayView2};

/// The weighted rows of `g_v`: `m_r` and `w_r`.
pub struct Pricing<'a> {
    /// Stacked patches `M` (`nK × h`).
    pub m: ArrayView2<'a, f64>,
    /// `w_r = α_k v_t`.
    pub w: Vec<f64>,
}

/// The best point one ascent reached.
#[derive(Debug, Clone)]
pub struct Found {
    /// Unit filter (the gate of its cell).
    pub u: Vec<f64>,
    /// `σ` of the ascent.
    pub sign: f64,
    /// `σ g_v(u)`.
    pub value: f64,
}

impl<'a> Pricing<'a> {
    /// The pricing rows for `v` with per-position pooling weights `alpha` (`K` entries), patch
    /// `k` of sample `t` being row `k·n + t`.
    pub fn new(m: ArrayView2<'a, f64>, alpha: &[f64], v: ArrayView1<f64>) -> Pricing<'a> {
        let n = v.len();
        let w = (0..m.nrows()).map(|r| alpha[r / n] * v[r % n]).collect();
        Pricing { m, w }
    }

    /// `g_v(u)` and the gradient of its cell, `Σ_r [m_r·u ≥ 0, m_r ≠ 0] w_r m_r` (the cell's
    /// rule: zero rows are off, ties are on — `crate::arrangement::pattern_of`; a zero row adds
    /// nothing either way).
    pub fn value_and_gradient(&self, u: &[f64]) -> (f64, Array1<f64>) {
        let s = self.m.dot(&ArrayView1::from(u));
        let active: Array1<f64> = s
            .iter()
            .zip(&self.w)
            .map(|(&sr, &wr)| if sr >= 0.0 { wr } else { 0.0 })
            .collect();
        let value = active.dot(&s);
        (value, self.m.t().dot(&active))
    }

    /// Ascends `σ g_v` on the unit sphere from `start` for at most `steps` steps; the best point.
    pub fn ascend(&self, start: &[f64], sign: f64, steps: usize) -> Option<Found> {
        let norm = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>().sqrt();
        let n0 = norm(start);
        if !(n0 > 0.0 && n0.is_finite()) {
            return None;
        }
        let mut u: Vec<f64> = start.iter().map(|v| v / n0).collect();
        let (val, mut grad) = self.value_and_gradient(&u);
        let mut best = Found {
            u: u.clone(),
            sign,
            value: sign * val,
        };
        // The step is relative: u + η σ ĝ with ĝ the unit gradient.
        let mut eta = 1.0;
        for _ in 0..steps {
            let gn = norm(grad.as_slice().expect("contiguous"));
            if gn == 0.0 || eta < 1e-6 {
                break;
            }
            let cand: Vec<f64> = u
                .iter()
                .zip(grad.iter())
                .map(|(a, g)| a + eta * sign * g / gn)
                .collect();
            let nc = norm(&cand);
            if nc == 0.0 {
                break;
            }
            let cand: Vec<f64> = cand.iter().map(|v| v / nc).collect();
            let (cv, cg) = self.value_and_gradient(&cand);
            if sign * cv > best.value {
                best = Found {
                    u: cand.clone(),
                    sign,
                    value: sign * cv,
                };
                u = cand;
                grad = cg;
                eta = (eta * 1.5).min(2.0);
            } else {
                eta *= 0.5;
            }
        }
        Some(best)
    }
}

/// A cell's maximizer (unit) and its binding rows with their multipliers ([`Pricing::cell_max`]).
pub type CellMax = (Vec<f64>, Vec<(usize, f64)>);

/// `‖Π_K(σ∇)‖ ≤ ZERO_PROJECTION ‖∇‖` counts as a zero maximum.
const ZERO_PROJECTION: f64 = 1e-10;

impl Pricing<'_> {
    /// The cell of `u`: the rows with `m_r·u ≥ 0` (what [`Pricing::cell_max`] takes).
    pub fn cell_of(&self, u: &[f64]) -> Vec<bool> {
        self.m
            .dot(&ArrayView1::from(u))
            .iter()
            .map(|&s| s >= 0.0)
            .collect()
    }

    /// The exact maximum of `σ g_v` over the closure of the cell `on` (a pattern of the rows) and
    /// the unit ball: the unit direction `Π_K(σ∇)/‖Π_K(σ∇)‖` with `∇ = Σ_{r on} w_r m_r` and
    /// `K = {x : (2D − I) M x ≥ 0}`, from one NNLS (`Π_K(t) = t + Bᵀα`,
    /// `α = argmin_{α ≥ 0} ‖t + Bᵀα‖`, docs/math.md §2), and the rows binding there, each with its
    /// multiplier `α_r > 0` (how much `σ∇` pushes against the row's hyperplane). `None` when the
    /// cell's maximum is 0 (or the NNLS fails).
    pub fn cell_max(&self, on: &[bool], sign: f64) -> Option<CellMax> {
        let h = self.m.ncols();
        let mut grad = vec![0.0; h];
        let mut b = Vec::with_capacity(self.m.len());
        let mut index = Vec::with_capacity(self.m.nrows());
        for (r, mr) in self.m.outer_iter().enumerate() {
            if mr.iter().all(|&x| x == 0.0) {
                continue;
            }
            if on[r] {
                for (gj, mj) in grad.iter_mut().zip(mr) {
                    *gj += sign * self.w[r] * mj;
                }
            }
            let flip = if on[r] { 1.0 } else { -1.0 };
            b.extend(mr.iter().map(|x| flip * x));
            index.push(r);
        }
        let b = ArrayView2::from_shape((index.len(), h), &b[..]).ok()?;
        let neg: Vec<f64> = grad.iter().map(|x| -x).collect();
        let sol = crate::linalg::nnls(b, &neg);
        let n = sol.norm;
        // A projection within the NNLS's accuracy of 0 is 0: its direction is rounding noise.
        let scale = grad.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(n > ZERO_PROJECTION * scale && n.is_finite()) {
            return None;
        }
        let u = sol.residual.iter().map(|x| -x / n).collect();
        let binding = index
            .iter()
            .zip(&sol.alpha)
            .filter(|&(_, &a)| a > 0.0)
            .map(|(&r, &a)| (r, a))
            .collect();
        Some((u, binding))
    }

    /// The walk from cell to cell of the module docs, from `start`: take the exact maximum of
    /// `σ g_v` over the current cell ([`Pricing::cell_max`]); then, for the rows binding there
    /// (largest multiplier first), take the maximum over the neighbouring cell across that row's
    /// hyperplane, and move to the first neighbour whose maximum, evaluated from every row, is
    /// higher. Stops after `moves` moves or at a cell no neighbour improves on. The best point.
    pub fn walk(&self, start: &[f64], sign: f64, moves: usize) -> Option<Found> {
        let mut on = self.cell_of(start);
        let (u, mut binding) = self.cell_max(&on, sign)?;
        let mut best = Found {
            value: sign * self.value_and_gradient(&u).0,
            u,
            sign,
        };
        for _ in 0..moves {
            binding.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mut moved = false;
            for &(r, _) in &binding {
                on[r] = !on[r];
                if let Some((u, next)) = self.cell_max(&on, sign) {
                    let value = sign * self.value_and_gradient(&u).0;
                    if value > best.value {
                        best = Found { u, sign, value };
                        binding = next;
                        moved = true;
                        break;
                    }
                }
                on[r] = !on[r];
            }
            if !moved {
                break;
            }
        }
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn relu_value(m: &Array2<f64>, w: &[f64], u: &[f64]) -> f64 {
        m.outer_iter()
            .zip(w)
            .map(|(r, &wr)| wr * r.iter().zip(u).map(|(a, b)| a * b).sum::<f64>().max(0.0))
            .sum()
    }

    /// Each walk ends at a unit filter whose value is evaluated from every row, and at least the
    /// exact maximum over its start's cell, itself at least the start's value.
    #[test]
    fn a_walk_climbs_from_its_start_cell() {
        let m = Array2::from_shape_fn((60, 3), |(r, j)| {
            (((r * 7 + j * 13) % 11) as f64 - 5.0) * (1.0 + 0.1 * ((r * j) % 5) as f64)
        });
        let v = Array1::from_shape_fn(20, |t| ((t * 5) % 7) as f64 - 3.0);
        let p = Pricing::new(m.view(), &[1.0, 0.5, 2.0], v.view());
        for start in [
            [1.0, 0.0, 0.0],
            [0.3, -0.2, 0.9],
            [-1.0, 2.0, 0.5],
            [0.1, 0.1, -1.0],
        ] {
            for sign in [1.0, -1.0] {
                let on: Vec<bool> = m
                    .dot(&Array1::from(start.to_vec()))
                    .iter()
                    .map(|&s| s >= 0.0)
                    .collect();
                let n0 = start.iter().map(|x| x * x).sum::<f64>().sqrt();
                let unit: Vec<f64> = start.iter().map(|x| x / n0).collect();
                let at_start = sign * relu_value(&m, &p.w, &unit);
                // A cell whose maximum is 0 has none to offer; otherwise it is positive and at
                // least the start's value.
                let Some((u, _)) = p.cell_max(&on, sign) else {
                    assert!(at_start <= 1e-12, "{at_start} in a cell of maximum 0");
                    continue;
                };
                let cell = sign * relu_value(&m, &p.w, &u);
                assert!(
                    cell > 0.0 && cell >= at_start - 1e-12,
                    "{cell} vs {at_start}"
                );
                // The maximizer lies in the cell's closure, and no sampled unit point of the
                // cell is higher.
                for (r, mr) in m.outer_iter().enumerate() {
                    let s: f64 = mr.iter().zip(&u).map(|(a, b)| a * b).sum();
                    let flip = if on[r] { 1.0 } else { -1.0 };
                    assert!(flip * s >= -1e-9, "row {r} leaves the cell: {s}");
                }
                let mut state = 0x9e37_79b9_u64;
                let mut uniform = || {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
                };
                let mut inside = 0;
                for _ in 0..20_000 {
                    let x = [uniform(), uniform(), uniform()];
                    let nx = x.iter().map(|a| a * a).sum::<f64>().sqrt();
                    let x: Vec<f64> = x.iter().map(|a| a / nx).collect();
                    let same = m.outer_iter().zip(&on).all(|(mr, &o)| {
                        (mr.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() >= 0.0) == o
                    });
                    if same {
                        inside += 1;
                        let vx = sign * relu_value(&m, &p.w, &x);
                        assert!(vx <= cell + 1e-9, "{vx} above the cell's maximum {cell}");
                    }
                }
                assert!(inside > 0, "some sampled point falls in the start's cell");
                let f = p
                    .walk(&start, sign, 1000)
                    .expect("the start's cell has a maximum");
                assert!(f.value >= cell - 1e-12, "{} < {cell}", f.value);
                assert!((f.value - sign * relu_value(&m, &p.w, &f.u)).abs() < 1e-12);
                let nu = f.u.iter().map(|x| x * x).sum::<f64>().sqrt();
                assert!((nu - 1.0).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn value_is_the_relu_sum_and_the_ascent_never_goes_down() {
        let m = Array2::from_shape_fn((30, 3), |(r, j)| ((r * 7 + j * 13) % 11) as f64 - 5.0);
        let v = Array1::from_shape_fn(10, |t| ((t * 5) % 7) as f64 - 3.0);
        let p = Pricing::new(m.view(), &[1.0, 0.5, 2.0], v.view());
        for start in [[1.0, 0.0, 0.0], [0.3, -0.2, 0.9], [-1.0, 2.0, 0.5]] {
            let (val, _) = p.value_and_gradient(&start);
            assert!((val - relu_value(&m, &p.w, &start)).abs() < 1e-12);
            for sign in [1.0, -1.0] {
                let n0 = start.iter().map(|x| x * x).sum::<f64>().sqrt();
                let unit: Vec<f64> = start.iter().map(|x| x / n0).collect();
                let f = p.ascend(&start, sign, 50).expect("nonzero start");
                assert!(f.value >= sign * relu_value(&m, &p.w, &unit) - 1e-12);
                assert!((f.value - sign * relu_value(&m, &p.w, &f.u)).abs() < 1e-12);
                let nu = f.u.iter().map(|x| x * x).sum::<f64>().sqrt();
                assert!((nu - 1.0).abs() < 1e-12);
            }
        }
    }
}
