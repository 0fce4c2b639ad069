//! A global certificate by branch and bound (`cvxcnn certify --global`; docs/math.md, "Global
//! certificate by branch and bound").
//!
//! For a dual vector `v` the dual constraint over **every** pattern is
//! `M(v) = max_{‖u‖₂ ≤ 1} |g_v(u)| ≤ β` with `g_v(u) = Σ_r w_r relu(m_r·u)` over the rows of the
//! stacked patches (`w_r = α_k v_t`, [`price::Pricing`]). [`search`] bounds `M(v)`
//! from above without enumerating the patterns: it merges rows of the same direction
//! (`cone::merge_directions`), covers the sphere by the `2^h` orthant cones, bounds
//! `σ g_v` (`σ = ±1`) on each cone by a linear function of the cone coordinates (exact for the rows
//! that do not cross the cone, a convex or a linear relaxation of the ReLU for those that do) and
//! one small NNLS (`cone::evaluate`), and splits the open cones with the largest bounds (searching
//! for a violation, `Options::stop_above`: the highest points) through the
//! midpoint of their longest edge (`cone::split_evaluate`: both halves in one pass over the rows),
//! in batches evaluated with rayon and merged in a fixed order. At
//! every moment `M̄ = max(best, largest open bound)` is a valid upper bound, where `best` is the
//! largest `|g_v|` seen at a unit filter (kept with the filter). The private `certificate` then scales `v` by
//! `θ = β/M̄` into the dual feasible set of the **nonconvex** training problem: `d(θv)` is a lower
//! bound on its optimum whatever the search's budget (weak duality, docs/math.md §2).
//!
//! Results depend only on the inputs and the options (the batch size is fixed, not the thread
//! count), except where a time limit cuts the search.

mod certificate;
pub(crate) mod cone;
pub mod price;

/// The search's record and stop reasons live with the problem's results, where a generation keeps
/// the search whose bound was best.
pub use crate::problem::{Search, Stop};
pub use certificate::{GlobalCertificate, certify_report, check, gate_filters, residual, too_long};

use crate::arch::options::Progress;
use cone::{Cone, Evaluated, Rows, Scratch};
use ndarray::{ArrayView1, ArrayView2};
use price::Pricing;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Largest filter length the orthant cover (`2^h` cones) is used for.
pub const MAX_FILTER_LEN: usize = 16;

/// Cones split per batch, each into two (fixed, so results do not depend on the thread count).
const BATCH: usize = 64;

/// Bytes the open cones may hold (generators, linear part and crossing rows) before the search
/// stops with `memory_limit`: a long search on thousands of rows otherwise outgrows the machine.
pub const MEMORY_BUDGET: usize = 4 << 30;

/// Cones whose generators all have `g_i·g_j > 1 − THIN` (width about 1e-6) are not split further:
/// their bound is within rounding of what splitting could give, and a deeper split would only
/// repeat the same cone.
const THIN: f64 = 1e-12;

/// Ascent steps from each start and from each improved incumbent.
const ASCENT_STEPS: usize = 60;

/// What stops the search.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop when `(M̄ − best)/M̄ ≤ tolerance`.
    pub tolerance: f64,
    /// Stop as soon as `M̄ ≤ target` (the bound then certifies what the caller needs); cones whose
    /// bound is at most `max(best, target)` are not split.
    pub target: Option<f64>,
    /// Seconds.
    pub time_limit: f64,
    /// Cones evaluated.
    pub max_cones: usize,
    /// Unit-sphere starts for the ascent that seeds `best` (each tried with both signs).
    pub starts: Vec<Vec<f64>>,
    /// Stop as soon as `best` exceeds this (pattern generation needs one violating filter, not
    /// the bound).
    pub stop_above: Option<f64>,
    /// Keep up to this many of the highest cone points whose value exceeds `collect_above`
    /// (`Search::candidates`): pattern generation adds the patterns of several violating filters
    /// from one search.
    pub collect: usize,
    /// See `collect`.
    pub collect_above: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tolerance: 1e-9,
            target: None,
            time_limit: f64::INFINITY,
            max_cones: usize::MAX,
            starts: Vec::new(),
            stop_above: None,
            collect: 0,
            collect_above: f64::INFINITY,
        }
    }
}

/// An evaluated open cone, ordered by `key` (ties: first created first): its bound, or, in a
/// search for a violation, the value at its best point.
struct Open {
    key: f64,
    bound: f64,
    seq: u64,
    node: Evaluated,
}

impl PartialEq for Open {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Open {}
impl PartialOrd for Open {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Open {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key
            .total_cmp(&o.key)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

/// The incumbent: the largest `|g_v|` at a unit filter.
struct Best {
    value: f64,
    filter: Vec<f64>,
}

impl Best {
    fn offer(&mut self, value: f64, filter: &[f64]) -> bool {
        if value > self.value {
            self.value = value;
            self.filter = filter.to_vec();
            true
        } else {
            false
        }
    }
}

/// Bounds `M(v) = max_{‖u‖₂ ≤ 1} |g_v(u)|` from above by branch and bound (module docs). `m` is the
/// stacked patch matrix (`nK × h`, row `k·n + t`) and `alpha` the `K` pooling weights.
pub fn search(
    m: ArrayView2<f64>,
    alpha: &[f64],
    v: ArrayView1<f64>,
    options: &Options,
    progress: Progress,
) -> Search {
    let start = Instant::now();
    let h = m.ncols();
    let pricing = Pricing::new(m, alpha, v);
    let m_owned = m.as_standard_layout().into_owned();
    let (merged, weights) =
        cone::merge_directions(m_owned.as_slice().expect("standard layout"), &pricing.w, h);
    let rows = Rows::new(&merged, &weights, h);
    // The same rows for the exact maximum over the incumbent's cell.
    let merged_pricing = Pricing {
        m: ArrayView2::from_shape((weights.len(), h), &merged[..]).expect("h per row"),
        w: weights.clone(),
    };
    let mut best = Best {
        value: 0.0,
        filter: unit(h, 0),
    };
    // Seed the incumbent by ascent from the given starts.
    let ascended: Vec<_> = options
        .starts
        .par_iter()
        .flat_map_iter(|s| [(s, 1.0), (s, -1.0)])
        .map(|(s, sign)| pricing.ascend(s, sign, ASCENT_STEPS))
        .collect();
    for f in ascended.into_iter().flatten() {
        best.offer(f.value, &f.u);
    }
    let ascend_from = |best: &mut Best| {
        let s = pricing.value_and_gradient(&best.filter).0.signum();
        let sign = if s == 0.0 { 1.0 } else { s };
        if let Some(f) = pricing.ascend(&best.filter.clone(), sign, ASCENT_STEPS) {
            best.offer(f.value, &f.u);
        }
        // The exact maximum over the incumbent's cell, at the projection's direction.
        let on = merged_pricing.cell_of(&best.filter);
        if let Some((u, _)) = merged_pricing.cell_max(&on, sign) {
            let value = rows.value(&u).abs();
            best.offer(value, &u);
        }
    };
    if !options.starts.is_empty() {
        ascend_from(&mut best);
    }

    // Merged rows are nonzero with nonzero weights.
    let live: Vec<u32> = (0..weights.len() as u32).collect();
    let mut initial = Vec::with_capacity(2 << h);
    for sign in [1.0, -1.0] {
        for mask in 0..(1usize << h) {
            let mut gens = vec![0.0; h * h];
            for i in 0..h {
                gens[i * h + i] = if mask >> i & 1 == 1 { -1.0 } else { 1.0 };
            }
            initial.push(Cone {
                gens,
                sign,
                p: vec![0.0; h],
                mixed: live.clone(),
                depth: 0,
            });
        }
    }
    let target = options.target.unwrap_or(f64::NEG_INFINITY);
    let mut heap: BinaryHeap<Open> = BinaryHeap::new();
    // A search for a violation (`stop_above`) splits first the cones whose best point is highest:
    // it dives toward the filters most likely to exceed the threshold. Which cones a proof that
    // none does must split is the same in any order (every cone bounded above the threshold), so
    // the order only changes how soon a violation is found; the largest open bound is then not
    // at the top of the heap and is computed when needed.
    let by_value = options.stop_above.is_some();
    let mut seq = 0u64;
    // Largest bound of a cone closed without being below `best`: exact cones (their bound is
    // attained up to rounding) and cones left because they are below the target.
    let mut closed = 0.0_f64;
    let mut explored = 0usize;
    let mut max_depth = 0u32;
    let mut max_mixed = 0usize;
    // The cones of the first batch, then the parents each later batch splits.
    let mut initial = Some(initial);
    let mut parents: Vec<Cone> = Vec::new();
    // Bytes held by the open cones.
    let size = |c: &Cone| 4 * c.mixed.len() + 8 * (c.gens.len() + c.p.len()) + 64;
    let mut held = 0usize;
    // Points above `collect_above`, cut back to the `collect` highest when twice as many.
    let mut candidates: Vec<(f64, Vec<f64>)> = Vec::new();
    let keep_highest = |c: &mut Vec<(f64, Vec<f64>)>| {
        // Stable: ties keep the order in which the cones were evaluated.
        c.sort_by(|a, b| b.0.total_cmp(&a.0));
        c.truncate(options.collect);
    };
    let stop = loop {
        // Points are looked for only in cones bounded above the incumbent at the batch's start
        // (a fixed value, so the results do not depend on the threads).
        let floor = best.value;
        let evaluated: Vec<Evaluated> = match initial.take() {
            Some(cones) => cones
                .into_par_iter()
                .map_init(Scratch::default, |s, c| cone::evaluate(&rows, c, floor, s))
                .collect(),
            None => parents
                .par_iter()
                .map_init(Scratch::default, |s, c| {
                    cone::split_evaluate(&rows, c, floor, s)
                })
                .flat_map_iter(|pair| pair)
                .collect(),
        };
        explored += evaluated.len();
        let mut improved = false;
        for e in &evaluated {
            if options.collect > 0 && e.value > options.collect_above {
                candidates.push((e.value, e.point.clone()));
            }
            improved |= best.offer(e.value, &e.point);
            max_depth = max_depth.max(e.cone.depth);
            if e.cone.depth > 0 {
                max_mixed = max_mixed.max(e.cone.mixed.len());
            }
        }
        if candidates.len() > 2 * options.collect {
            keep_highest(&mut candidates);
        }
        if improved {
            ascend_from(&mut best);
        }
        for e in evaluated {
            if e.bound <= best.value {
                continue;
            }
            // A cone narrower than rounding can split is closed with its bound.
            let thin = 1.0 - cone::min_dot(&e.cone.gens, h) < THIN;
            if e.cone.mixed.is_empty() || e.bound <= target || thin {
                closed = closed.max(e.bound);
                continue;
            }
            held += size(&e.cone);
            heap.push(Open {
                key: if by_value { e.value } else { e.bound },
                bound: e.bound,
                seq,
                node: e,
            });
            seq += 1;
        }
        // Drop what the incumbent now beats (ordered by bound; by value, the pops skip it).
        if !by_value && heap.peek().is_some_and(|o| o.bound <= best.value) {
            heap.clear();
            held = 0;
        }
        // Ordered by value, the largest open bound is above `target` while a cone is open (none
        // at or below it is kept): `M̄` is looked at only once the queue is empty.
        let settled =
            (!by_value || heap.is_empty()).then(|| upper(&heap, by_value, best.value, closed));
        let elapsed = start.elapsed().as_secs_f64();
        if options.time_limit.is_finite() {
            progress(
                "global bound",
                (elapsed.min(options.time_limit) * 10.0) as usize,
                (options.time_limit * 10.0) as usize,
            );
        }
        if options.stop_above.is_some_and(|a| best.value > a) {
            break Stop::Violation;
        }
        if let Some(upper) = settled {
            // A search for a violation that emptied its queue has proved what it was asked.
            if by_value && upper <= target {
                break Stop::Target;
            }
            if upper - best.value <= options.tolerance * upper {
                break Stop::Gap;
            }
            if upper <= target {
                break Stop::Target;
            }
        }
        if heap.is_empty() {
            // Every cone closed exactly (up to rounding).
            break Stop::Gap;
        }
        if elapsed >= options.time_limit {
            break Stop::TimeLimit;
        }
        if explored >= options.max_cones {
            break Stop::NodeLimit;
        }
        if held >= MEMORY_BUDGET {
            break Stop::MemoryLimit;
        }
        parents.clear();
        while parents.len() < BATCH {
            let Some(o) = heap.pop() else { break };
            held = held.saturating_sub(size(&o.node.cone));
            if o.bound <= best.value {
                if by_value {
                    continue;
                }
                break;
            }
            parents.push(o.node.cone);
        }
    };
    if options.time_limit.is_finite() {
        progress("global bound", 1, 1);
    }
    // The incumbent's value from every row of `M` as given (the cones evaluated it from their own
    // rows, merged).
    let value = pricing.value_and_gradient(&best.filter).0.abs();
    keep_highest(&mut candidates);
    Search {
        candidates,
        method: "branch_and_bound",
        dual_value_upper: upper(&heap, by_value, best.value.max(value), closed),
        dual_value_best: value,
        best_filter: best.filter,
        cones_explored: explored,
        cones_open: heap.len(),
        max_depth,
        max_mixed_rows: max_mixed,
        seconds: start.elapsed().as_secs_f64(),
        complete: stop == Stop::Gap,
        stop,
        tolerance: options.tolerance,
    }
}

/// `M̄ = max(best, largest open bound, largest closed bound)`; the largest open bound is the top
/// of the heap unless it is ordered `by_value`.
fn upper(heap: &BinaryHeap<Open>, by_value: bool, best: f64, closed: f64) -> f64 {
    let open = if by_value {
        heap.iter().map(|o| o.bound).fold(0.0_f64, f64::max)
    } else {
        heap.peek().map_or(0.0, |o| o.bound)
    };
    open.max(best).max(closed)
}

fn unit(h: usize, i: usize) -> Vec<f64> {
    let mut u = vec![0.0; h];
    u[i] = 1.0;
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(key: f64, bound: f64, seq: u64) -> Open {
        Open {
            key,
            bound,
            seq,
            node: Evaluated {
                cone: Cone {
                    gens: vec![1.0],
                    sign: 1.0,
                    p: vec![0.0],
                    mixed: Vec::new(),
                    depth: 0,
                },
                bound,
                value: key,
                point: vec![1.0],
            },
        }
    }

    /// Ordered by value, the cone at the top (highest point) need not have the largest bound:
    /// `M̄` takes the largest of all; ordered by bound, the top is the largest.
    #[test]
    fn the_upper_bound_is_the_largest_open_bound_whatever_the_order() {
        let heap: BinaryHeap<Open> = [open(5.0, 6.0, 0), open(1.0, 9.0, 1)].into_iter().collect();
        assert_eq!(heap.peek().map(|o| o.bound), Some(6.0));
        assert_eq!(upper(&heap, true, 2.0, 3.0), 9.0);
        let heap: BinaryHeap<Open> = [open(6.0, 6.0, 0), open(9.0, 9.0, 1)].into_iter().collect();
        assert_eq!(upper(&heap, false, 2.0, 3.0), 9.0);
        assert_eq!(upper(&BinaryHeap::new(), true, 2.0, 3.0), 3.0);
    }
}
