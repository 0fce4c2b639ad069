use super::*;
use crate::network::testing::{geom, random_array, random_targets};
use ndarray::Array4;

/// Per-position reference (the three-layer network's own convolution before it shared
/// `conv.rs`): `acts[t][k] = b + Σ u_i · pixel`, bounds-checked pixel by pixel, in kernel order.
fn naive_convolve(x: &Array4<f64>, g: &ConvGeometry, u: &[f64], bias: f64) -> Vec<Vec<f64>> {
    let (n, c, hh, ww) = x.dim();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let rows = (hh + 2 * ph - kh) / sh + 1;
    let cols = (ww + 2 * pw - kw) / sw + 1;
    (0..n)
        .map(|t| {
            let mut out = Vec::with_capacity(rows * cols);
            for r in 0..rows {
                for q in 0..cols {
                    let mut v = bias;
                    for ch in 0..c {
                        for a in 0..kh {
                            let pr = (r * sh + a) as isize - ph as isize;
                            if pr < 0 || pr as usize >= hh {
                                continue;
                            }
                            for b in 0..kw {
                                let pc = (q * sw + b) as isize - pw as isize;
                                if pc < 0 || pc as usize >= ww {
                                    continue;
                                }
                                v += u[(ch * kh + a) * kw + b]
                                    * x[[t, ch, pr as usize, pc as usize]];
                            }
                        }
                    }
                    out.push(v);
                }
            }
            out
        })
        .collect()
}

/// `f(x_t)` from [`naive_convolve`], summed in the network's order.
fn naive_forward(net: &ThreeLayerCnn, x: &Array4<f64>) -> Vec<f64> {
    let n = x.dim().0;
    let mut g = vec![vec![0.0; n]; net.width()];
    for (j, (us, w1)) in net.filters.iter().zip(&net.inner_weights).enumerate() {
        for (l, (u, &w)) in us.iter().zip(w1).enumerate() {
            let acts = naive_convolve(x, &net.geometry, u, net.bias(j, l));
            for (t, a) in acts.iter().enumerate() {
                g[j][t] += w * a.iter().map(|&v| relu(v)).sum::<f64>();
            }
        }
    }
    (0..n)
        .map(|t| {
            let mut f = 0.0;
            for (j, &w2) in net.output_weights.iter().enumerate() {
                f += w2 * relu(g[j][t]);
            }
            f
        })
        .collect()
}

#[test]
fn forward_equals_per_position_reference_bit_for_bit() {
    let cases = [
        ([2, 2], [1, 2], [1, 0]),
        ([3, 2], [2, 3], [1, 2]),
        ([2, 3], [1, 2], [3, 3]), // padding ≥ kernel: some patches are all zeros
        ([1, 3], [1, 1], [0, 1]),
        ([5, 6], [1, 1], [0, 0]), // a single position
    ];
    let x = random_array((4, 2, 5, 6), 81);
    for (i, &(kernel, stride, padding)) in cases.iter().enumerate() {
        for bias in [false, true] {
            // Inner width 11 > 8 exercises a full register block and a remainder.
            let net = ThreeLayerCnn::random_with_bias(
                geom(kernel, stride, padding),
                2,
                3,
                11,
                1.0,
                90 + i as u64,
                bias,
            );
            let got = net.forward(x.view());
            let want = naive_forward(&net, &x);
            for (t, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "case {i} bias {bias}, sample {t}: direct conv {a}, reference {b}"
                );
            }
        }
    }
}

#[test]
fn trait_objective_is_the_inherent_objective() {
    let x = random_array((5, 1, 4, 4), 83);
    let y = random_targets(5, 84);
    let net = ThreeLayerCnn::random_with_bias(geom([2, 2], [1, 1], [1, 1]), 1, 2, 3, 0.7, 85, true);
    let inherent = net.objective(x.view(), y.view(), 0.2);
    let by_trait = Network::objective_with_norm(&net, x.view(), y.view(), 0.2, FilterNorm::L2);
    assert_eq!(
        inherent, by_trait,
        "inherent {inherent:?} vs trait {by_trait:?}"
    );
    let want = 0.5
        * 0.2
        * (sum_of_squares(net.inner_weights.iter().flatten())
            + sum_of_squares(&net.output_weights));
    assert_eq!(
        inherent.regularizer, want,
        "regularizer {} vs (β/2)(‖w₁‖² + ‖w₂‖²) = {want}",
        inherent.regularizer
    );
}
