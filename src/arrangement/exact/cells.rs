//! Recursion over dimensions: the cells of the arrangement, built hyperplane by hyperplane by
//! deletion–restriction (see the [module docs](super)).

use std::collections::HashMap;

use super::geometry::{Householder, get_bit, group_directions, normalized, set_bit, unit_vector};
use super::max_margin::recenter;
use super::{ExactError, HYPERPLANE_TOL, NOISE, STEP_CAP};
use crate::linalg::{axpy, dot, norm};

/// A cell during incremental construction: sign bits over the hyperplanes added so far (bit j set
/// iff `a_j·x > 0` on the cell) and a unit interior point.
struct Cell {
    signs: Vec<u64>,
    point: Vec<f64>,
}

/// Unit interior points, one per cell, of the arrangement of the unit `normals` in `R^d`
/// (normals pairwise distinct up to sign; any rank ≤ d).
pub(super) fn cells_of(normals: &[Vec<f64>], d: usize) -> Result<Vec<Vec<f64>>, ExactError> {
    if normals.is_empty() {
        return Ok(vec![unit_vector(d, 0)]);
    }
    match d {
        // In R^1 every central hyperplane is {0}: two half-lines.
        0 | 1 => Ok(vec![vec![1.0], vec![-1.0]]),
        2 => Ok(sweep(normals)),
        _ => incremental(normals, d),
    }
}

/// Exact cells of a central line arrangement in `R^2`: the sectors between consecutive boundary
/// rays, represented by their bisectors (the max-margin point of a sector).
fn sweep(normals: &[Vec<f64>]) -> Vec<Vec<f64>> {
    use std::f64::consts::{PI, TAU};
    let mut angles = Vec::with_capacity(2 * normals.len());
    for a in normals {
        // The line {x : a·x = 0} is spanned by (-a_1, a_0).
        let theta = a[0].atan2(-a[1]).rem_euclid(TAU);
        angles.push(theta);
        angles.push((theta + PI).rem_euclid(TAU));
    }
    angles.sort_by(f64::total_cmp);
    let mut rays: Vec<f64> = Vec::with_capacity(angles.len());
    for t in angles {
        if rays.last().is_none_or(|&last| t - last > HYPERPLANE_TOL) {
            rays.push(t);
        }
    }
    while rays.len() > 1 && rays[0] + TAU - rays[rays.len() - 1] <= HYPERPLANE_TOL {
        rays.pop();
    }
    if rays.len() < 2 {
        // Cannot happen for nonempty input (each line gives two antipodal rays); stay total.
        return vec![vec![1.0, 0.0], vec![-1.0, 0.0]];
    }
    (0..rays.len())
        .map(|i| {
            let hi = if i + 1 < rays.len() {
                rays[i + 1]
            } else {
                rays[0] + TAU
            };
            let mid = 0.5 * (rays[i] + hi);
            vec![mid.cos(), mid.sin()]
        })
        .collect()
}

/// Incremental deletion–restriction construction in `R^d`, `d ≥ 3` (see the module docs).
fn incremental(normals: &[Vec<f64>], d: usize) -> Result<Vec<Vec<f64>>, ExactError> {
    let words = normals.len().div_ceil(64);
    let mut cells = vec![Cell {
        signs: vec![0; words],
        point: unit_vector(d, 0),
    }];
    let mut scratch = Vec::new();
    for (k, a) in normals.iter().enumerate() {
        let reflector = Householder::new(a);
        // Restricted arrangement {H_j ∩ H_k : j < k} in coordinates of H_k ≅ R^{d-1}.
        let mut restricted = Vec::with_capacity(k);
        for b in &normals[..k] {
            let full = reflector.apply(b);
            let nb = norm(&full[1..]);
            if nb <= NOISE {
                return Err(ExactError::Numerical(
                    "two hyperplanes are numerically coincident after merging".into(),
                ));
            }
            restricted.push(full[1..].iter().map(|x| x / nb).collect::<Vec<f64>>());
        }
        let groups = group_directions(&restricted, HYPERPLANE_TOL);
        let reps: Vec<Vec<f64>> = groups.reps.iter().map(|&i| restricted[i].clone()).collect();
        let sub = cells_of(&reps, d - 1)?;

        // Which old cell contains each restricted cell: sign vectors inherited from the restricted
        // arrangement (consistent with how it merged hyperplanes).
        let index: HashMap<&[u64], usize> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.signs.as_slice(), i))
            .collect();
        let mut split: Vec<Option<Vec<f64>>> = vec![None; cells.len()];
        let mut orphans: Vec<(Vec<u64>, Vec<f64>)> = Vec::new();
        for qr in &sub {
            let mut rep_positive = Vec::with_capacity(reps.len());
            for b in &reps {
                let v = dot(b, qr);
                if v.abs() <= NOISE {
                    return Err(ExactError::Numerical(
                        "a restricted cell point lies on a hyperplane".into(),
                    ));
                }
                rep_positive.push(v > 0.0);
            }
            let mut signs = vec![0u64; words];
            for (j, &(rep, same)) in groups.of.iter().enumerate() {
                if rep_positive[rep] == same {
                    set_bit(&mut signs, j);
                }
            }
            let mut lifted = vec![0.0; d];
            lifted[1..].copy_from_slice(qr);
            let q = reflector.apply(&lifted);
            match index.get(signs.as_slice()) {
                Some(&i) if split[i].is_some() => {
                    return Err(ExactError::Numerical(
                        "two restricted cells map to the same cell".into(),
                    ));
                }
                Some(&i) => split[i] = Some(q),
                // Cannot happen in exact arithmetic; the point is a verified witness of a cell, so
                // keep it rather than lose it.
                None => orphans.push((signs, q)),
            }
        }
        drop(index);

        let mut next = Vec::with_capacity(cells.len() + sub.len());
        for (cell, q) in cells.into_iter().zip(split) {
            match q {
                Some(q) => {
                    for side in [true, false] {
                        let (c, margin) = new_cell(normals, k, &cell.signs, &q, side, &mut scratch);
                        if margin <= NOISE {
                            return Err(ExactError::Numerical(format!(
                                "a split cell has no interior point (margin {margin:.3e})"
                            )));
                        }
                        next.push(c);
                    }
                }
                None => {
                    let v = dot(a, &cell.point);
                    if v.abs() > NOISE {
                        let mut c = cell;
                        if v > 0.0 {
                            set_bit(&mut c.signs, k);
                        }
                        next.push(c);
                    } else {
                        // The centre lies on H_k although H_k was not found to cut the cell: decide
                        // each side by max-margin centring instead.
                        let mut q = cell.point.clone();
                        axpy(-v, a, &mut q);
                        let q = normalized(q);
                        let mut any = false;
                        for side in [true, false] {
                            let (c, margin) =
                                new_cell(normals, k, &cell.signs, &q, side, &mut scratch);
                            if margin > NOISE {
                                next.push(c);
                                any = true;
                            }
                        }
                        if !any {
                            return Err(ExactError::Numerical(
                                "a cell vanished when adding a hyperplane".into(),
                            ));
                        }
                    }
                }
            }
        }
        for (signs, q) in orphans {
            for side in [true, false] {
                let (c, margin) = new_cell(normals, k, &signs, &q, side, &mut scratch);
                if margin > NOISE {
                    next.push(c);
                }
            }
        }
        cells = next;
    }
    Ok(cells.into_iter().map(|c| c.point).collect())
}

/// The cell with sign bits `signs` over hyperplanes `0..k` and side `side` of hyperplane `k`, given a
/// point `q` on `H_k` inside the old cell. Returns the cell at its max-margin point and that margin
/// `min_j s_j a_j·x` (≤ 0 if the cell is empty numerically).
fn new_cell(
    normals: &[Vec<f64>],
    k: usize,
    signs: &[u64],
    q: &[f64],
    side: bool,
    constraints: &mut Vec<f64>,
) -> (Cell, f64) {
    let d = q.len();
    constraints.clear();
    for (j, a) in normals[..=k].iter().enumerate() {
        let positive = if j == k { side } else { get_bit(signs, j) };
        let s = if positive { 1.0 } else { -1.0 };
        constraints.extend(a.iter().map(|x| s * x));
    }
    // Starting point q + t·(±a_k): the largest t keeping margin t on every old constraint,
    // i.e. t = min_j c_j / (1 - e_j) with c_j = g_j·q, e_j = g_j·(±a_k).
    let dir = &constraints[k * d..];
    let mut t = STEP_CAP;
    for g in constraints[..k * d].chunks_exact(d) {
        let slack = 1.0 - dot(g, dir);
        if slack > 0.0 {
            t = t.min(dot(g, q) / slack);
        }
    }
    let mut start = q.to_vec();
    axpy(t, dir, &mut start);
    let (point, margin) = recenter(constraints, d, normalized(start));
    let mut new_signs = signs.to_vec();
    if side {
        set_bit(&mut new_signs, k);
    }
    (
        Cell {
            signs: new_signs,
            point,
        },
        margin,
    )
}
