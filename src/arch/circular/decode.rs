//! Decoding a circular block into a neuron (docs/math.md §8).

use super::dft::Dft;

/// One decoded neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct Neuron {
    /// `a` (unit norm).
    pub inner: Vec<f64>,
    /// `b`.
    pub filter: Vec<f64>,
    /// `w`.
    pub weight: f64,
    /// `e` (with a bias).
    pub bias: Option<f64>,
}

/// Decodes one block `z` (or `(z, ζ)`) with sign `±` (docs/math.md §8): `ŝ = ‖ẑ‖₁/d`,
/// `â_k = √(d|ẑ_k|/‖ẑ‖₁)` (real and even, so `a` is real; `‖a‖² = (1/d)Σ â_k² = 1`),
/// `b̂₀_k = ẑ_k/â_k = (ẑ_k/|ẑ_k|)·√(|ẑ_k|‖ẑ‖₁/d)` (0 where `ẑ_k = 0`, as is `â_k`: the frequencies with
/// `ẑ_k = 0` contribute 0 to `Σ|ẑ_k|`, so `‖a‖ = 1` holds as it is), `‖b₀‖ = ŝ`, `a ⊛ b₀ = z`.
/// With `R = R(z, ζ)`: `w = ±√R`, `b = b₀/√R`, `e = ζ/√R`; then `|w| (a ⊛ b) = z`, the neuron
/// computes `±(⟨x, z⟩ + ζ)_+` and `(β/2)(‖b‖² + e² + w²) = β R`.
/// A block with `ẑ = 0` but `ζ ≠ 0` gets `a = δ₀`, `b = 0`. Returns `None` for a zero block.
pub fn decode_block(dft: &Dft, block: &[f64], positive: bool) -> Option<Neuron> {
    let d = dft.d;
    let z = &block[..d];
    let zeta = block.get(d).copied();
    let zh = dft.forward(z);
    let l1: f64 = zh.iter().map(|&(r, i)| r.hypot(i)).sum();
    let s_hat = l1 / d as f64;
    let r = s_hat.hypot(zeta.unwrap_or(0.0));
    if r == 0.0 || !r.is_finite() {
        return None;
    }
    let (inner, b0) = if l1 > 0.0 {
        let mut ah = Vec::with_capacity(d);
        let mut bh = Vec::with_capacity(d);
        for &(re, im) in &zh {
            let m = re.hypot(im);
            ah.push(((d as f64 * m / l1).sqrt(), 0.0));
            if m > 0.0 {
                let f = (m * l1 / d as f64).sqrt() / m;
                bh.push((re * f, im * f));
            } else {
                bh.push((0.0, 0.0));
            }
        }
        (dft.inverse_real(&ah), dft.inverse_real(&bh))
    } else {
        let mut delta = vec![0.0; d];
        delta[0] = 1.0;
        (delta, vec![0.0; d])
    };
    let w = r.sqrt();
    Some(Neuron {
        inner,
        filter: b0.iter().map(|v| v / w).collect(),
        weight: if positive { w } else { -w },
        bias: zeta.map(|e| e / w),
    })
}
