//! The training losses `L(ŷ) = Σ_t ℓ_t(ŷ_t)` and what the certificate needs of each
//! (docs/math.md, "Classification losses"): the value, the dual point `v = −∇L(ŷ)`, the domain of
//! the conjugate and the dual objective `−Σ_t ℓ_t*(−v_t)`.
//!
//! | loss | `ℓ_t(z)` | dual term `−ℓ_t*(−v_t)` | domain | `v` at `ŷ` |
//! |---|---|---|---|---|
//! | squared | `½(z − y_t)²` | `v_t y_t − ½v_t²` | all `v_t` | `y − ŷ` |
//! | logistic | `log(1 + e^{−y_t z})` | `H(y_t v_t)` (binary entropy, nats) | `0 ≤ y_t v_t ≤ 1` | `y_t σ(−y_t ŷ_t)` |
//! | hinge | `max(0, 1 − y_t z)` | `y_t v_t` | `0 ≤ y_t v_t ≤ 1` | `y_t 1[y_t ŷ_t < 1]` |
//!
//! The classification losses need targets `y_t ∈ {−1, +1}` (the problem file refuses others).

use ndarray::{Array1, ArrayView1};
use serde::{Deserialize, Serialize};

/// The loss of the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `½ Σ_t (ŷ_t − y_t)²` (the default).
    #[default]
    Squared,
    /// `Σ_t log(1 + exp(−y_t ŷ_t))` (cross-entropy on ±1 labels, nats).
    Logistic,
    /// `Σ_t max(0, 1 − y_t ŷ_t)`.
    Hinge,
}

/// `log(1 + eᶻ)` without overflow.
pub fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// `1 / (1 + e^{−z})` without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Binary entropy `H(p) = −p log p − (1 − p) log(1 − p)` in nats (`0 log 0 = 0`).
pub fn entropy(p: f64) -> f64 {
    let term = |q: f64| if q > 0.0 { -q * q.ln() } else { 0.0 };
    term(p) + term(1.0 - p)
}

impl Loss {
    /// The name in problem and result files.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Squared => "squared",
            Loss::Logistic => "logistic",
            Loss::Hinge => "hinge",
        }
    }

    /// True for the default (result files then carry no `loss` key).
    pub fn is_squared(&self) -> bool {
        *self == Loss::Squared
    }

    /// True for the losses that need ±1 targets.
    pub fn is_classification(self) -> bool {
        self != Loss::Squared
    }

    /// `L(f) = Σ_t ℓ_t(f_t)`, summed left to right (the squared loss exactly as the networks have
    /// always summed it: `½ Σ_t (f_t − y_t)²`).
    pub fn value(self, f: ArrayView1<f64>, y: ArrayView1<f64>) -> f64 {
        assert_eq!(
            f.len(),
            y.len(),
            "loss: {} outputs, {} targets",
            f.len(),
            y.len()
        );
        match self {
            Loss::Squared => {
                0.5 * f
                    .iter()
                    .zip(y.iter())
                    .map(|(f, y)| (f - y) * (f - y))
                    .sum::<f64>()
            }
            Loss::Logistic => f.iter().zip(y.iter()).map(|(f, y)| softplus(-y * f)).sum(),
            Loss::Hinge => f
                .iter()
                .zip(y.iter())
                .map(|(f, y)| (1.0 - y * f).max(0.0))
                .sum(),
        }
    }

    /// `v = −∇L(f)`, the dual point a primal point suggests (the residual `y − f` for the squared
    /// loss; for the hinge the subgradient with `a_t = 1` where `y_t f_t < 1`, 0 elsewhere).
    pub fn dual_point(self, f: ArrayView1<f64>, y: ArrayView1<f64>) -> Array1<f64> {
        match self {
            Loss::Squared => &y - &f,
            Loss::Logistic => {
                Array1::from_iter(f.iter().zip(y.iter()).map(|(f, y)| y * sigmoid(-y * f)))
            }
            Loss::Hinge => Array1::from_iter(
                f.iter()
                    .zip(y.iter())
                    .map(|(f, y)| if y * f < 1.0 { *y } else { 0.0 }),
            ),
        }
    }

    /// `v` at `ŷ = 0`, whose largest dual value is `β_max`: `y`, `y/2` (logistic) or `y` (hinge).
    pub fn zero_network_dual(self, y: ArrayView1<f64>) -> Array1<f64> {
        self.dual_point(Array1::zeros(y.len()).view(), y)
    }

    /// `v` moved into the conjugate's domain: unchanged for the squared loss, `y_t v_t` clipped to
    /// `[0, 1]` for the classification losses (a solver's multipliers can miss it by a rounding).
    pub fn into_domain(self, v: ArrayView1<f64>, y: ArrayView1<f64>) -> Array1<f64> {
        match self {
            Loss::Squared => v.to_owned(),
            Loss::Logistic | Loss::Hinge => Array1::from_iter(
                v.iter()
                    .zip(y.iter())
                    .map(|(v, y)| y * (y * v).clamp(0.0, 1.0)),
            ),
        }
    }

    /// The dual objective `d(u) = −Σ_t ℓ_t*(−u_t)` at a point `u` of the domain.
    pub fn dual_objective(self, u: ArrayView1<f64>, y: ArrayView1<f64>) -> f64 {
        match self {
            Loss::Squared => u.dot(&y) - 0.5 * u.dot(&u),
            Loss::Logistic => u.iter().zip(y.iter()).map(|(u, y)| entropy(y * u)).sum(),
            Loss::Hinge => u.iter().zip(y.iter()).map(|(u, y)| y * u).sum(),
        }
    }

    /// The best bound `d(θv)` over the scalings `θ` that keep `θv` dual feasible and in the
    /// domain, for a candidate `v` (in the domain) whose largest per-pattern dual value is
    /// `max_dual_value`: `θ ∈ [−θ_max, θ_max]` for the squared loss (negative `θ` covers the other
    /// sign of `v`), `θ ∈ [0, θ_max]` for the classification losses, `θ_max = min(1, β / M)`.
    /// Returns `(d(θv), θ)`, or `None` when `v = 0`.
    pub fn scaled_bound(
        self,
        y: ArrayView1<f64>,
        v: ArrayView1<f64>,
        beta: f64,
        max_dual_value: f64,
    ) -> Option<(f64, f64)> {
        let theta_max = if max_dual_value > beta {
            beta / max_dual_value
        } else {
            1.0
        };
        if v.iter().all(|&x| x == 0.0) {
            return None;
        }
        match self {
            Loss::Squared => {
                let vv = v.dot(&v);
                let vy = v.dot(&y);
                let theta = (vy / vv).clamp(-theta_max, theta_max);
                Some((-0.5 * theta * theta * vv + theta * vy, theta))
            }
            Loss::Hinge => {
                let theta = theta_max;
                Some((theta * v.dot(&y), theta))
            }
            Loss::Logistic => {
                // Σ_t H(θ p_t) is concave in θ with derivative Σ_t p_t log((1 − θp_t)/(θp_t)),
                // decreasing from +∞ at θ = 0: bisect its sign on [0, θ_max].
                let p: Vec<f64> = v.iter().zip(y.iter()).map(|(v, y)| y * v).collect();
                let slope = |theta: f64| -> f64 {
                    p.iter()
                        .filter(|&&q| q > 0.0)
                        .map(|&q| {
                            let s = theta * q;
                            if s >= 1.0 {
                                f64::NEG_INFINITY
                            } else {
                                q * ((1.0 - s) / s).ln()
                            }
                        })
                        .sum()
                };
                let theta = if slope(theta_max) >= 0.0 {
                    theta_max
                } else {
                    let (mut lo, mut hi) = (0.0, theta_max);
                    for _ in 0..200 {
                        let mid = 0.5 * (lo + hi);
                        if mid <= lo || mid >= hi {
                            break;
                        }
                        if slope(mid) >= 0.0 {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    lo
                };
                let u = v.mapv(|x| theta * x);
                Some((self.dual_objective(u.view(), y), theta))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The hand checks of docs/math.md: at ŷ = 0 the dual objective of `v(0)` equals the loss.
    #[test]
    fn zero_network_duality_gap_is_zero() {
        let y = array![1.0, -1.0, -1.0, 1.0, 1.0];
        let f = Array1::zeros(5);
        for loss in [Loss::Squared, Loss::Logistic, Loss::Hinge] {
            let v = loss.zero_network_dual(y.view());
            let primal = loss.value(f.view(), y.view());
            let dual = loss.dual_objective(v.view(), y.view());
            assert!(
                (primal - dual).abs() < 1e-12,
                "{loss:?}: {primal} vs {dual}"
            );
        }
        assert!((Loss::Logistic.value(f.view(), y.view()) - 5.0 * 2f64.ln()).abs() < 1e-12);
    }

    /// Fenchel–Young: ℓ(z) ≥ d-term at any v of the domain, with equality at v = −ℓ'(z)
    /// (logistic: everywhere; hinge: at the subgradient).
    #[test]
    fn fenchel_young_holds_with_equality_at_the_gradient() {
        let y = array![1.0, -1.0, 1.0, -1.0];
        let f = array![0.3, 2.0, -1.5, -0.2];
        for loss in [Loss::Logistic, Loss::Hinge, Loss::Squared] {
            let v = loss.dual_point(f.view(), y.view());
            // ℓ(f) = −ℓ*(−v) + (−v)·f·(−1)…: L(f) = d(v) − vᵀf at the gradient.
            let lhs = loss.value(f.view(), y.view());
            let rhs = loss.dual_objective(v.view(), y.view()) - v.dot(&f);
            assert!((lhs - rhs).abs() < 1e-12, "{loss:?}: {lhs} vs {rhs}");
        }
    }

    /// The logistic θ search finds the maximizer of the concave bound.
    #[test]
    fn logistic_scaling_maximizes_the_entropy_bound() {
        let y = array![1.0, -1.0, 1.0];
        let v = array![0.9, -0.8, 0.95];
        let (b, theta) = Loss::Logistic
            .scaled_bound(y.view(), v.view(), 10.0, 1.0)
            .unwrap();
        let d = |t: f64| Loss::Logistic.dual_objective(v.mapv(|x| t * x).view(), y.view());
        assert!((b - d(theta)).abs() < 1e-14);
        for t in [0.1, 0.3, 0.5, 0.6, 0.7, 0.9, 1.0] {
            assert!(d(t) <= b + 1e-12, "θ = {t}: {} > {b}", d(t));
        }
        assert!(theta < 1.0);
    }
}
