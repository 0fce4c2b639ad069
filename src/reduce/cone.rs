//! Irredundant generators of a polyhedral cone, and nonnegative least squares.
//!
//! For one sign pattern the convex program constrains c ∈ ℝʰ to the polyhedral cone
//! P = {c : B c ≥ 0}, where B (m × h) has thousands of rows b_k but h is small. By Farkas' lemma
//! the dual cone of P is K = cone{b_k} = {Bᵀα : α ≥ 0}, and a row b_k can be dropped without
//! changing P exactly when b_k ∈ cone{b_j : j ≠ k}. A subset S of the rows with cone(B_S) = K
//! therefore satisfies {c : B_S c ≥ 0} = P, and the smallest such S consists of one row per
//! extreme ray of K (when K is pointed; when K contains a line, see [`irredundant_rows`]).
//!
//! If g is a strictly interior point of P (b_k·g > 0 for every nonzero row), the points
//! z_k = b_k / (g·b_k) lie on the hyperplane {z : g·z = 1} and the extreme rays of K are exactly
//! the vertices of conv{z_k}. They are found with Clarkson's output-sensitive method: a row is
//! tested against the current set E of kept rows with one nonnegative least-squares solve
//! min_{α ≥ 0} ‖Eᵀα − b_k‖₂; a positive residual r separates b_k from cone(E)
//! (r·b_e ≤ 0 for all e ∈ E, r·b_k = ‖r‖² > 0), and the row maximising r·z_j over all rows is a
//! vertex not yet in E. Every row costs one redundancy test and every extreme ray one extra pass.
//!
//! A redundancy test is only ever accepted through an explicit certificate α ≥ 0 with
//! ‖b̂_k − Eᵀα‖ ≤ tol recomputed directly. To make the tests cheap it tries, in order: a cache of
//! simplicial cones (h kept rows with a stored inverse) that recently certified other rows —
//! on image data nearly every row falls in one of them; Lawson–Hanson on the normal equations
//! with the Gram matrix of E maintained incrementally (while |E| ≤ 4h); column generation over E
//! (when |E| > 4h); and the QR-based Lawson–Hanson solver, whose KKT residual feeds the vertex
//! search.
//!
//! The same NNLS gives the support function used for certificates:
//! max{v·u : ‖u‖₂ ≤ 1, B u ≥ 0} = min_{α ≥ 0} ‖v + Bᵀα‖₂, the distance from v to the polar cone
//! −K, i.e. `nnls(B, −v).norm`.

use std::collections::VecDeque;

use ndarray::ArrayView2;

use crate::linalg::{GramNnls, NnlsWork, W_TOL, axpy, dot4, unit_into};
pub use crate::linalg::{Nnls, nnls};

/// Smallest relative tolerance accepted by [`irredundant_rows`]: residuals of a few ulps are noise.
const MIN_TOL: f64 = 1e-12;
/// Largest relative tolerance accepted by [`irredundant_rows`] (beyond it "redundant" is meaningless).
const MAX_TOL: f64 = 0.1;
/// Tolerance used when the caller passes NaN.
const DEFAULT_TOL: f64 = 1e-9;
/// Unit rows closer than this (Euclidean) are the same direction.
const DUP_TOL: f64 = 1e-12;
/// A row is strictly inside the open half-space of the gate ĝ when û·ĝ > GOOD_MIN.
const GOOD_MIN: f64 = 1e-11;
/// The mean row direction is used as gate when every row has at least this margin.
const MEAN_GATE_MIN: f64 = 1e-6;
/// A unit row whose projection off the detected lineality space is shorter than this lies in it.
const PROJ_MIN: f64 = 1e-9;
/// Relative width of a tie when maximising r·z_j.
const TIE_TOL: f64 = 1e-12;

/// Indices (sorted ascending) of an irredundant subset S of the rows of `b` (m × h) with
/// {c : B_S c ≥ 0} = {c : B c ≥ 0}.
///
/// Equivalently cone{b_k : k ∈ S} = cone{b_k} (Farkas). Zero rows are dropped; among rows equal up
/// to positive scaling only the first index is kept; every dropped row is a nonnegative
/// combination of kept rows up to relative tolerance `tol` (‖b_k − Σ_{s∈S} α_s b_s‖₂ ≤ tol·‖b_k‖₂,
/// certified by an NNLS solve); every kept row is an extreme ray of cone{rows}, i.e. not such a
/// combination of the other kept rows.
///
/// `interior`, when given, should be a point g with b_k·g > 0 for all nonzero rows, so the cone is
/// pointed and its extreme rays are the vertices of z_k = b_k/(g·b_k) on {z : g·z = 1}. If it is
/// None, has the wrong length, or is not strictly interior, the mean of the unit rows is tried,
/// and failing that an interior point is computed from the least-distance problem
/// min ‖x‖ s.t. b̂_k·x ≥ 1 (b̂_k = b_k/‖b_k‖, solved as an NNLS); its solution maximises the
/// smallest angle margin min_k b̂_k·x/‖x‖. If {c : Bc ≥ 0} has no interior (K contains a line,
/// e.g. rows b and −b), the lineality space L of K is detected, rows in L are kept greedily until
/// they positively span L (both b and −b stay when needed), and the remaining rows are reduced as
/// above modulo L. Correctness never depends on this detection:
/// every dropped row is certified by its own NNLS solve.
///
/// A kept row is proven extreme either when it is picked (it maximises a linear functional r·z
/// with a gap that rules out any combination within tol) or by a final NNLS pass against the
/// other kept rows, which removes it otherwise (only near exact ties or when K contains a line);
/// rows dropped earlier because of such a removed row satisfy the bound with (1 + its weight)·tol.
///
/// `tol` is clamped to [1e-12, 0.1] (NaN means 1e-9); 1e-10 to 1e-9 are good values. Rows with
/// non-finite entries are always kept. The output is deterministic. Cost: about one small NNLS
/// (usually just a cached h × h solve) per distinct row plus O(m·h) per extreme ray.
pub fn irredundant_rows(b: ArrayView2<f64>, interior: Option<&[f64]>, tol: f64) -> Vec<usize> {
    let (_, h) = b.dim();
    let tol = if tol.is_nan() {
        DEFAULT_TOL
    } else {
        tol.clamp(MIN_TOL, MAX_TOL)
    };

    // 1. Unit rows; zero rows dropped, non-finite rows kept unconditionally.
    let mut always = Vec::new();
    let mut idx = Vec::new();
    let mut units = Vec::new();
    for (i, row) in b.rows().into_iter().enumerate() {
        if row.iter().any(|v| !v.is_finite()) {
            always.push(i);
            continue;
        }
        let start = units.len();
        units.resize(start + h, 0.0);
        if unit_into(row.iter().copied(), &mut units[start..]).is_some() {
            idx.push(i);
        } else {
            units.truncate(start);
        }
    }

    // 2. One row per direction (the first index).
    let (reps, u) = dedup(&idx, &units, h);

    // 3. Reduce.
    let mut out = Vec::new();
    if !reps.is_empty() {
        let mut red = Reducer::new(&u, h, tol);
        red.choose_gate(interior);
        for pos in red.run() {
            out.push(reps[pos]);
        }
    }
    out.extend(always);
    out.sort_unstable();
    out
}

/// A fixed, generic-looking direction in ℝʰ (SplitMix64 from a seed): deterministic tie-breaks.
fn fixed_direction(h: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..h)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // 53 random bits in [0, 1), mapped to [−1, 1).
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// Groups the unit rows (`units`, row i belongs to original index `idx[i]`, ascending) by
/// direction and returns the first original index of every direction with its unit row.
///
/// Rows are sorted by a generic projection s·û, so equal directions are neighbours within a
/// window of width ~DUP_TOL·‖s‖; each row is compared only with the group representatives in that
/// window (exact duplicates cost O(1) each, whatever their number).
fn dedup(idx: &[usize], units: &[f64], h: usize) -> (Vec<usize>, Vec<f64>) {
    let n = idx.len();
    if h == 0 || n == 0 {
        return (Vec::new(), Vec::new());
    }
    let row = |i: usize| &units[i * h..(i + 1) * h];
    let s = fixed_direction(h, 0x5eed_0001);
    let s_l2 = dot4(&s, &s).sqrt();
    let s_l1: f64 = s.iter().map(|v| v.abs()).sum();
    let keys: Vec<f64> = (0..n).map(|i| dot4(&s, row(i))).collect();
    let mut sorted: Vec<(f64, usize)> = keys.iter().copied().zip(0..n).collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let width = 2.0 * DUP_TOL * s_l2 + 8.0 * f64::EPSILON * s_l1;

    let mut group = vec![0usize; n];
    let mut window: VecDeque<usize> = VecDeque::new();
    for &(_, i) in &sorted {
        while let Some(&f) = window.front() {
            if keys[i] - keys[f] > width {
                window.pop_front();
            } else {
                break;
            }
        }
        let ui = row(i);
        let found = window.iter().copied().find(|&r| {
            let d2: f64 = ui.iter().zip(row(r)).map(|(a, b)| (a - b) * (a - b)).sum();
            d2 <= DUP_TOL * DUP_TOL
        });
        match found {
            Some(r) => group[i] = r,
            None => {
                group[i] = i;
                window.push_back(i);
            }
        }
    }
    // First (smallest) position of each group; positions are in original-index order.
    let mut first = vec![usize::MAX; n];
    for (i, &g) in group.iter().enumerate() {
        first[g] = first[g].min(i);
    }
    let mut reps = Vec::new();
    let mut u = Vec::new();
    for i in 0..n {
        if first[group[i]] == i {
            reps.push(idx[i]);
            u.extend_from_slice(row(i));
        }
    }
    (reps, u)
}

/// With more than SCREEN_FACTOR·h kept rows, a redundancy test first tries the 3h kept rows most
/// similar to the tested row.
const SCREEN_FACTOR: usize = 4;

// ---------------------------------------------------------------------------------------------
// Cache of simplicial cones that recently certified redundancy.

/// Number of simplicial cones remembered by [`SimplexCache`].
const CACHE_SIZE: usize = 32;

/// Recently certifying simplicial cones: h linearly independent kept rows M = [c_1 … c_h] with
/// M⁻¹ stored, so t ∈ cone(M) iff λ = M⁻¹t ≥ 0. The rows of M⁻¹ are tried one at a time (most
/// misses stop after one or two dot products) and a hit is certified by recomputing t − Mλ.
struct SimplexCache {
    h: usize,
    len: usize,
    /// Slots, most recently useful first.
    order: Vec<usize>,
    /// members[slot * h + i]: index (into the kept rows) of column i of the slot's M.
    members: Vec<usize>,
    /// inv[slot * h * h + i * h + j] = (M⁻¹)_{ij}.
    inv: Vec<f64>,
    lambda: Vec<f64>,
    r: Vec<f64>,
    /// Gauss–Jordan scratch, h × 2h.
    aug: Vec<f64>,
}

impl SimplexCache {
    fn new(h: usize) -> Self {
        SimplexCache {
            h,
            len: 0,
            order: Vec::with_capacity(CACHE_SIZE),
            members: vec![0; CACHE_SIZE * h],
            inv: vec![0.0; CACHE_SIZE * h * h],
            lambda: vec![0.0; h],
            r: vec![0.0; h],
            aug: vec![0.0; 2 * h * h],
        }
    }

    /// True when some cached cone contains t with a directly verified residual ≤ tol.
    fn certifies(&mut self, cols: &[f64], t: &[f64], tol: f64) -> bool {
        let h = self.h;
        for pos in 0..self.len {
            let slot = self.order[pos];
            let inv = &self.inv[slot * h * h..(slot + 1) * h * h];
            let mut inside = true;
            for (i, row) in inv.chunks_exact(h).enumerate() {
                let l = dot4(row, t);
                if l.is_nan() || l < 0.0 {
                    inside = false;
                    break;
                }
                self.lambda[i] = l;
            }
            if !inside {
                continue;
            }
            self.r.copy_from_slice(t);
            for i in 0..h {
                let c = self.members[slot * h + i];
                axpy(-self.lambda[i], &cols[c * h..(c + 1) * h], &mut self.r);
            }
            if dot4(&self.r, &self.r).sqrt() <= tol {
                self.order[..=pos].rotate_right(1);
                return true;
            }
        }
        false
    }

    /// Remembers the cone of the h kept rows `members` (skipped if numerically singular).
    fn insert(&mut self, cols: &[f64], members: &[usize]) {
        let h = self.h;
        if members.len() != h {
            return;
        }
        // [M | I] with M[a][i] = c_i[a]; Gauss–Jordan with partial pivoting.
        let w = 2 * h;
        let aug = &mut self.aug;
        aug.iter_mut().for_each(|v| *v = 0.0);
        for (i, &c) in members.iter().enumerate() {
            for a in 0..h {
                aug[a * w + i] = cols[c * h + a];
            }
        }
        for a in 0..h {
            aug[a * w + h + a] = 1.0;
        }
        for col in 0..h {
            let mut piv = col;
            for a in col + 1..h {
                if aug[a * w + col].abs() > aug[piv * w + col].abs() {
                    piv = a;
                }
            }
            let pivot = aug[piv * w + col].abs();
            if pivot.is_nan() || pivot <= 1e-10 {
                return;
            }
            if piv != col {
                for b in 0..w {
                    aug.swap(piv * w + b, col * w + b);
                }
            }
            let d = aug[col * w + col];
            for b in 0..w {
                aug[col * w + b] /= d;
            }
            for a in 0..h {
                if a != col {
                    let f = aug[a * w + col];
                    if f != 0.0 {
                        for b in 0..w {
                            aug[a * w + b] -= f * aug[col * w + b];
                        }
                    }
                }
            }
        }
        let slot = if self.len < CACHE_SIZE {
            self.len += 1;
            self.order.push(self.len - 1);
            self.len - 1
        } else {
            self.order[self.len - 1]
        };
        for i in 0..h {
            for j in 0..h {
                self.inv[slot * h * h + i * h + j] = self.aug[i * w + h + j];
            }
        }
        self.members[slot * h..(slot + 1) * h].copy_from_slice(members);
        let pos = self.order.iter().position(|&s| s == slot).unwrap_or(0);
        self.order[..=pos].rotate_right(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Clarkson's output-sensitive extreme-ray search.

struct Reducer<'a> {
    h: usize,
    n: usize,
    /// Deduplicated unit rows, u[j*h..(j+1)*h].
    u: &'a [f64],
    tol: f64,
    /// Rows strictly inside the gate's open half-space; the others are handled greedily.
    good: Vec<bool>,
    /// 1/(ĝ·û_j) for good rows, so z_j = û_j · gd_j.
    gd: Vec<f64>,
    in_e: Vec<bool>,
    /// Screening scratch: (similarity, kept-row index), selected columns and their indices.
    sims: Vec<(f64, usize)>,
    sub_cols: Vec<f64>,
    sub_idx: Vec<usize>,
    members: Vec<usize>,
    /// Kept rows proven extreme when picked (no final check needed).
    exposed: Vec<bool>,
    /// Every row is good (the cone is pointed with the gate as interior point).
    pointed: bool,
    /// Kept rows (positions) and their unit vectors, contiguous for the NNLS.
    e: Vec<usize>,
    ecols: Vec<f64>,
    work: NnlsWork,
    gram: GramNnls,
    cache: SimplexCache,
    vbuf: Vec<f64>,
    /// Secondary direction breaking ties of r·z_j.
    s2: Vec<f64>,
}

impl<'a> Reducer<'a> {
    fn new(u: &'a [f64], h: usize, tol: f64) -> Self {
        let n = u.len() / h;
        Reducer {
            h,
            n,
            u,
            tol,
            good: vec![false; n],
            gd: vec![0.0; n],
            in_e: vec![false; n],
            exposed: vec![false; n],
            sims: Vec::new(),
            sub_cols: Vec::new(),
            sub_idx: Vec::new(),
            members: Vec::new(),
            pointed: false,
            e: Vec::new(),
            ecols: Vec::new(),
            work: NnlsWork::new(h),
            gram: GramNnls::new(h),
            cache: SimplexCache::new(h),
            vbuf: vec![0.0; n],
            s2: fixed_direction(h, 0x5eed_0002),
        }
    }

    fn row(&self, j: usize) -> &'a [f64] {
        &self.u[j * self.h..(j + 1) * self.h]
    }

    /// Sets `good`/`gd` from the caller's gate when it is strictly interior, else from the
    /// least-distance gate; rows not strictly inside stay "bad".
    fn choose_gate(&mut self, interior: Option<&[f64]>) {
        let h = self.h;
        if let Some(g) = interior
            && g.len() == h
            && g.iter().all(|v| v.is_finite())
        {
            let mut gh = vec![0.0; h];
            if unit_into(g.iter().copied(), &mut gh).is_some()
                && (0..self.n).all(|j| dot4(self.row(j), &gh) > GOOD_MIN)
            {
                self.set_gate(&gh);
                return;
            }
        }
        // Cheap candidate: the mean direction of the rows, if it has a clear margin.
        let mut mean = vec![0.0; h];
        for row in self.u.chunks_exact(h) {
            axpy(1.0, row, &mut mean);
        }
        let mut gh = vec![0.0; h];
        if unit_into(mean.iter().copied(), &mut gh).is_some()
            && (0..self.n).all(|j| dot4(self.row(j), &gh) > MEAN_GATE_MIN)
        {
            self.set_gate(&gh);
            return;
        }
        if let Some(gh) = least_distance_gate(self.u, h) {
            self.set_gate(&gh);
        }
    }

    fn set_gate(&mut self, gh: &[f64]) {
        for j in 0..self.n {
            let d = dot4(self.row(j), gh);
            self.good[j] = d > GOOD_MIN;
            self.gd[j] = if self.good[j] { 1.0 / d } else { 0.0 };
        }
        self.pointed = self.good.iter().all(|&g| g);
    }

    fn add(&mut self, j: usize) {
        self.in_e[j] = true;
        self.e.push(j);
        self.ecols.extend_from_slice(self.row(j));
        // Past SCREEN_FACTOR·h kept rows the tests sift instead, and the Gram matrix goes stale.
        if self.e.len() <= SCREEN_FACTOR * self.h {
            self.gram.push_column(&self.ecols);
        }
    }

    /// Distance of û_k to cone(E), or 0 once some certificate shows it is ≤ tol. Tries the
    /// simplex cache, then column generation (large E) or the Gram solver (small E; trusted only
    /// through its recomputed residual), then the QR solver. A returned value > tol is always an
    /// exact KKT residual left in work.r, as [`Self::pick`] needs.
    fn test(&mut self, k: usize) -> f64 {
        let uk = &self.u[k * self.h..(k + 1) * self.h];
        if self.e.len() >= self.h && self.cache.certifies(&self.ecols, uk, self.tol) {
            return 0.0;
        }
        let h = self.h;
        let n_e = self.e.len();
        if n_e > SCREEN_FACTOR * h
            && let Some(rn) = self.sift(k)
        {
            return rn;
        }
        if !self.e.is_empty()
            && self.gram.n == self.e.len()
            && self.gram.solve(&self.ecols, uk) <= self.tol
        {
            if self.gram.k == self.h {
                self.cache.insert(&self.ecols, &self.gram.passive);
            }
            return 0.0;
        }
        let rn = self.work.solve(&self.ecols, self.e.len(), uk, self.tol);
        if rn <= self.tol && self.work.passive.len() == self.h {
            self.cache.insert(&self.ecols, &self.work.passive);
        }
        rn
    }

    /// NNLS of û_k on many kept rows by column generation: solve on a small working set (the 3h
    /// most similar rows, then the passive columns plus the most violated ones), price all kept
    /// rows with the residual, repeat until no kept row has e·r > 0. Each round is one pass of
    /// |E|·h flops plus a small solve; the final residual satisfies the KKT conditions for all of
    /// E, exactly as a full solve would (left in work.r). None if the round cap is hit.
    fn sift(&mut self, k: usize) -> Option<f64> {
        let h = self.h;
        let n_e = self.e.len();
        let uk = &self.u[k * h..(k + 1) * h];
        let batch = 3 * h;
        self.sims.clear();
        self.sims
            .extend(self.ecols.chunks_exact(h).map(|c| dot4(c, uk)).zip(0..n_e));
        let by_value = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        self.sims.select_nth_unstable_by(batch - 1, by_value);
        self.sub_idx.clear();
        self.sub_idx
            .extend(self.sims[..batch].iter().map(|&(_, i)| i));
        for _ in 0..n_e / h + 10 {
            self.sub_cols.clear();
            for &i in &self.sub_idx {
                self.sub_cols
                    .extend_from_slice(&self.ecols[i * h..(i + 1) * h]);
            }
            let rn = self
                .work
                .solve(&self.sub_cols, self.sub_idx.len(), uk, self.tol);
            // Passive columns as kept-row indices.
            self.members.clear();
            self.members
                .extend(self.work.passive.iter().map(|&p| self.sub_idx[p]));
            if rn <= self.tol {
                if self.members.len() == h {
                    self.cache.insert(&self.ecols, &self.members);
                }
                return Some(rn);
            }
            // Price every kept row with the residual.
            let r = &self.work.r;
            let wtol = W_TOL * dot4(uk, uk).sqrt();
            self.sims.clear();
            for (i, c) in self.ecols.chunks_exact(h).enumerate() {
                let w = dot4(c, r);
                if w > wtol {
                    self.sims.push((w, i));
                }
            }
            // Columns already in the working set are optimal there (w ≤ 0 up to rounding).
            let sub = &self.sub_idx;
            self.sims.retain(|&(_, i)| !sub.contains(&i));
            if self.sims.is_empty() {
                return Some(rn);
            }
            if self.sims.len() > batch {
                self.sims.select_nth_unstable_by(batch - 1, by_value);
                self.sims.truncate(batch);
            }
            self.sub_idx.clear();
            self.sub_idx.extend_from_slice(&self.members);
            self.sub_idx.extend(self.sims.iter().map(|&(_, i)| i));
        }
        None
    }

    /// argmax over good rows j ≥ `from` of r·z_j (r = last QR residual), ties within rounding
    /// broken by the secondary direction and then by the smallest index, so the pick is a vertex
    /// of conv{z}. Also returns whether the pick is certified extreme: in a pointed cone, if
    /// r·z_j ≤ T for every other row that can still be kept, and top = r·z_e, then
    /// û_e ≈ Σ α_j û_j + ρ with ‖ρ‖ ≤ tol would give (top − T⁺)(ĝ·û_e) ≤ tol (T⁺ + ‖r‖);
    /// a larger gap proves the NNLS residual of û_e on the other rows exceeds tol.
    fn pick(&mut self, from: usize) -> Option<(usize, bool)> {
        let h = self.h;
        let r = &self.work.r;
        let rn = dot4(r, r).sqrt();
        let mut best = None;
        let mut top = f64::NEG_INFINITY;
        let mut second = f64::NEG_INFINITY;
        for j in from..self.n {
            if !self.good[j] {
                continue;
            }
            let v = dot4(r, &self.u[j * h..(j + 1) * h]) * self.gd[j];
            self.vbuf[j] = v;
            if v > top {
                second = top;
                top = v;
                best = Some(j);
            } else if v > second {
                second = v;
            }
        }
        let jb = best?;
        let gb = self.gd[jb];
        let mut pick = jb;
        let mut sbest = f64::NEG_INFINITY;
        let mut ties = 0;
        for j in from..self.n {
            if self.good[j] && top - self.vbuf[j] <= TIE_TOL * rn * (self.gd[j] + gb) {
                ties += 1;
                let s = dot4(&self.s2, &self.u[j * h..(j + 1) * h]) * self.gd[j];
                if s > sbest {
                    sbest = s;
                    pick = j;
                }
            }
        }
        // Rows before `from` are kept (scanned here) or dropped; the final set is drawn from
        // the kept rows and the rows from `from` on.
        let mut certified = false;
        if self.pointed && ties == 1 {
            let mut t_max = second;
            for &f in &self.e {
                t_max = t_max.max(dot4(r, &self.u[f * h..(f + 1) * h]) * self.gd[f]);
            }
            let tp = t_max.max(0.0);
            certified = (top - tp) / self.gd[pick] > 2.0 * self.tol * (tp + rn);
        }
        Some((pick, certified))
    }

    /// Returns the positions of the kept rows.
    fn run(&mut self) -> Vec<usize> {
        // Rows outside the gate's open half-space (in the lineality space, or no gate at all):
        // keep every row that is not already generated by the kept ones.
        for k in 0..self.n {
            if !self.good[k] && self.test(k) > self.tol {
                self.add(k);
            }
        }
        // Clarkson: each good row is either certified redundant or triggers a new vertex.
        for k in 0..self.n {
            if !self.good[k] || self.in_e[k] {
                continue;
            }
            loop {
                if self.test(k) <= self.tol {
                    break;
                }
                // Good rows before k are kept or certified inside cone(E), where r·z ≤ 0 < r·z_k:
                // they cannot attain the maximum, so only rows from k on are scanned.
                match self.pick(k) {
                    Some((j, certified)) if j != k && !self.in_e[j] => {
                        self.add(j);
                        self.exposed[j] = certified;
                    }
                    Some((j, certified)) => {
                        // The maximiser is k itself (or, numerically, already kept).
                        self.exposed[k] = certified && j == k;
                        self.add(k);
                        break;
                    }
                    None => {
                        self.add(k);
                        break;
                    }
                }
            }
        }
        self.final_pass()
    }

    /// Removes kept rows generated by the other kept rows (largest index first), so S is
    /// irredundant. Rows certified extreme by [`Self::pick`] need no check.
    fn final_pass(&mut self) -> Vec<usize> {
        let h = self.h;
        let mut alive = self.e.clone();
        alive.sort_unstable();
        let mut order = alive.clone();
        order.reverse();
        let mut cols = Vec::with_capacity(alive.len() * h);
        for &e in &order {
            if self.exposed[e] {
                continue;
            }
            cols.clear();
            let mut cnt = 0;
            for &f in &alive {
                if f != e {
                    cols.extend_from_slice(self.row(f));
                    cnt += 1;
                }
            }
            let ue = self.row(e);
            if self.work.solve(&cols, cnt, ue, self.tol) <= self.tol {
                alive.retain(|&f| f != e);
            }
        }
        alive
    }
}

/// A unit vector ĝ with û_j·ĝ > 0 for as many rows as possible: the least-distance solution of
/// min ‖x‖ s.t. p̂_j·x ≥ 1 (p̂_j = rows projected off the lineality space found so far), computed as
/// the NNLS min_{α ≥ 0} ‖[P̂; 1ᵀ]α − e_{h+1}‖ (Lawson–Hanson ch. 23): x = −r_{1..h}/r_{h+1}.
/// When the NNLS residual vanishes the rows in its support sum to zero, so they lie in the
/// lineality space; it is extended by them and the step repeats (at most h times).
/// Returns None when no row is outside the lineality space.
fn least_distance_gate(u: &[f64], h: usize) -> Option<Vec<f64>> {
    let n = u.len() / h;
    let mut basis: Vec<f64> = Vec::new(); // orthonormal vectors spanning the lineality found
    let mut active: Vec<usize> = (0..n).collect();
    let mut cols: Vec<f64> = Vec::with_capacity(n * (h + 1));
    let mut next: Vec<usize> = Vec::with_capacity(n);
    let mut p = vec![0.0; h];
    let mut target = vec![0.0; h + 1];
    target[h] = 1.0;
    let mut work = NnlsWork::new(h + 1);
    // Lawson–Hanson needs about as many iterations as the support has columns (≤ h + 1); the
    // cap only bounds the cost of a pathological cycle (the margin is verified anyway).
    work.max_outer = 40 * (h + 1);
    let c = std::f64::consts::FRAC_1_SQRT_2;
    for _ in 0..=h {
        cols.clear();
        next.clear();
        for &j in &active {
            p.copy_from_slice(&u[j * h..(j + 1) * h]);
            project_off(&basis, h, &mut p);
            let np = dot4(&p, &p).sqrt();
            if np > PROJ_MIN {
                cols.extend(p.iter().map(|v| v / np * c));
                cols.push(c);
                next.push(j);
            }
        }
        std::mem::swap(&mut active, &mut next);
        if active.is_empty() {
            return None;
        }
        work.solve(&cols, active.len(), &target, 0.0);
        let rho_last = work.r[h];
        if rho_last > 1e-12 {
            let x: Vec<f64> = work.r[..h].iter().map(|v| -v / rho_last).collect();
            let xn = dot4(&x, &x).sqrt();
            // Columns are [p̂, 1]/√2, so p̂·x = √2 · (column head)·x; theory gives ≥ 1.
            let min_margin = (0..active.len())
                .map(|a| dot4(&cols[a * (h + 1)..a * (h + 1) + h], &x) / c)
                .fold(f64::INFINITY, f64::min);
            if min_margin >= 0.5 && xn.is_finite() && xn > 0.0 {
                return Some(x.iter().map(|v| v / xn).collect());
            }
        }
        // Infeasible: the support rows sum to (nearly) zero, so they span lineality directions.
        let before = basis.len();
        for (&j, &xa) in active.iter().zip(&work.x) {
            if xa > 0.0 {
                p.copy_from_slice(&u[j * h..(j + 1) * h]);
                project_off(&basis, h, &mut p);
                project_off(&basis, h, &mut p);
                let np = dot4(&p, &p).sqrt();
                if np > 1e-6 {
                    basis.extend(p.iter().map(|v| v / np));
                }
            }
        }
        if basis.len() == before {
            return None;
        }
    }
    None
}

/// p ← p − Σ (q·p) q over the orthonormal vectors of `basis`.
fn project_off(basis: &[f64], h: usize, p: &mut [f64]) {
    for q in basis.chunks_exact(h) {
        let d = dot4(q, p);
        axpy(-d, q, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clarabel::algebra::CscMatrix;
    use clarabel::solver::{
        DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
    };
    use ndarray::{Array2, ArrayView1};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    fn gauss(rng: &mut ChaCha8Rng, h: usize) -> Vec<f64> {
        (0..h).map(|_| rng.sample(StandardNormal)).collect()
    }

    fn rows_to_array(rows: &[Vec<f64>], h: usize) -> Array2<f64> {
        let mut a = Array2::zeros((rows.len(), h));
        for (i, r) in rows.iter().enumerate() {
            for (j, v) in r.iter().enumerate() {
                a[[i, j]] = *v;
            }
        }
        a
    }

    /// min obj·c s.t. rows·c ≥ 0, −1 ≤ c ≤ 1 (clarabel). Row k is redundant w.r.t. `rows` iff
    /// this is ≥ −tiny for obj = b_k.
    fn lp_min(rows: &[ArrayView1<f64>], obj: &[f64]) -> f64 {
        let h = obj.len();
        let mut a: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| r.iter().map(|v| -v).collect())
            .collect();
        for sign in [1.0, -1.0] {
            for i in 0..h {
                let mut e = vec![0.0; h];
                e[i] = sign;
                a.push(e);
            }
        }
        let mut rhs = vec![0.0; rows.len()];
        rhs.extend(std::iter::repeat_n(1.0, 2 * h));
        let a_mat = CscMatrix::from(&a);
        let p = CscMatrix::<f64>::zeros((h, h));
        let cones = [SupportedConeT::NonnegativeConeT(a.len())];
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .build()
            .expect("valid settings");
        let mut solver =
            DefaultSolver::new(&p, obj, &a_mat, &rhs, &cones, settings).expect("valid LP");
        solver.solve();
        let st = solver.solution.status;
        assert!(
            matches!(st, SolverStatus::Solved | SolverStatus::AlmostSolved),
            "LP status {st:?}"
        );
        solver.solution.obj_val
    }

    /// First index of every nonzero direction (brute force, O(m²)).
    fn first_directions(b: &Array2<f64>) -> Vec<usize> {
        let units: Vec<Option<Vec<f64>>> = b
            .rows()
            .into_iter()
            .map(|r| {
                let n = r.dot(&r).sqrt();
                (n > 0.0).then(|| r.iter().map(|v| v / n).collect())
            })
            .collect();
        let mut reps: Vec<usize> = Vec::new();
        for (i, ui) in units.iter().enumerate() {
            let Some(ui) = ui else { continue };
            let dup = reps.iter().any(|&r| {
                let ur = units[r].as_ref().expect("reps are nonzero");
                ui.iter()
                    .zip(ur)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
                    < 1e-9
            });
            if !dup {
                reps.push(i);
            }
        }
        reps
    }

    /// Brute-force irredundant set of a pointed cone: directions whose LP against the other
    /// directions is clearly negative. Panics on values in the ambiguous band.
    fn brute_force(b: &Array2<f64>) -> Vec<usize> {
        let reps = first_directions(b);
        let mut out = Vec::new();
        for &k in &reps {
            let others: Vec<ArrayView1<f64>> = reps
                .iter()
                .filter(|&&j| j != k)
                .map(|&j| b.row(j))
                .collect();
            let obj: Vec<f64> = b.row(k).to_vec();
            let val = lp_min(&others, &obj);
            let scale = b.row(k).dot(&b.row(k)).sqrt();
            assert!(
                !(val < -1e-7 * scale && val > -1e-5 * scale),
                "ambiguous LP value {val} for row {k} (scale {scale})"
            );
            if val < -1e-6 * scale {
                out.push(k);
            }
        }
        out
    }

    /// S describes the same cone and is irredundant (valid with or without pointedness):
    /// every nonzero row outside S is redundant w.r.t. B_S, every row of S is not redundant
    /// w.r.t. B_{S∖k}.
    fn check_same_cone_and_irredundant(b: &Array2<f64>, s: &[usize]) {
        let rows_s: Vec<ArrayView1<f64>> = s.iter().map(|&j| b.row(j)).collect();
        for k in 0..b.nrows() {
            let scale = b.row(k).dot(&b.row(k)).sqrt();
            if scale == 0.0 {
                assert!(!s.contains(&k), "zero row {k} kept");
                continue;
            }
            let obj = b.row(k).to_vec();
            if let Some(pos) = s.iter().position(|&j| j == k) {
                let mut others = rows_s.clone();
                others.remove(pos);
                let val = lp_min(&others, &obj);
                assert!(
                    val < -1e-6 * scale,
                    "kept row {k} is redundant among kept rows: LP value {val} (scale {scale})"
                );
            } else {
                let val = lp_min(&rows_s, &obj);
                assert!(
                    val >= -1e-6 * scale,
                    "dropped row {k} is needed: LP value {val} vs ≥ {} (scale {scale})",
                    -1e-6 * scale
                );
            }
        }
    }

    /// Random rows in the open half-space of a random gate (a pointed cone).
    fn random_pointed(rng: &mut ChaCha8Rng, m: usize, h: usize) -> (Array2<f64>, Vec<f64>) {
        let g = gauss(rng, h);
        let rows: Vec<Vec<f64>> = (0..m)
            .map(|_| {
                let mut r = gauss(rng, h);
                // Shift towards g so the cone is not almost a half-space.
                let d = dot4(&r, &g);
                let gn = dot4(&g, &g).sqrt();
                let shift = if d >= 0.0 { 0.5 } else { -0.5 };
                axpy(shift * (h as f64).sqrt() / gn, &g, &mut r);
                let d = dot4(&r, &g);
                if d < 0.0 {
                    r.iter_mut().for_each(|v| *v = -*v);
                }
                r
            })
            .collect();
        (rows_to_array(&rows, h), g)
    }

    /// Digits-like rows: nonnegative 3×3 patches with 17 gray levels (about half the pixels zero,
    /// 10 % all-zero rows), signed by a Gaussian gate g: b_k = sign(m_k·g) m_k.
    fn digits_like(rng: &mut ChaCha8Rng, m: usize) -> (Array2<f64>, Vec<f64>) {
        let h = 9;
        let g = gauss(rng, h);
        let mut b = Array2::zeros((m, h));
        for k in 0..m {
            if rng.random_bool(0.1) {
                continue;
            }
            let patch: Vec<f64> = (0..h)
                .map(|_| {
                    if rng.random_bool(0.5) {
                        0.0
                    } else {
                        f64::from(rng.random_range(1..=16u32)) / 16.0
                    }
                })
                .collect();
            let sign = if dot4(&patch, &g) < 0.0 { -1.0 } else { 1.0 };
            for (j, v) in patch.iter().enumerate() {
                b[[k, j]] = sign * v;
            }
        }
        (b, g)
    }

    #[test]
    fn nnls_norm_equals_support_function_of_cone_on_unit_ball() {
        // max{v·u : ‖u‖ ≤ 1, Bu ≥ 0} = min_{α≥0} ‖v + Bᵀα‖ = nnls(B, −v).norm, checked with an SOCP.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for trial in 0..10 {
            let h = 3 + trial % 4;
            let (b, _) = random_pointed(&mut rng, 12, h);
            let v = gauss(&mut rng, h);
            let minus_v: Vec<f64> = v.iter().map(|x| -x).collect();
            let ours = nnls(b.view(), &minus_v).norm;
            // clarabel: min −v·u s.t. −Bu + s = 0, s ≥ 0; (1, u) ∈ SOC.
            let mut a: Vec<Vec<f64>> = b
                .rows()
                .into_iter()
                .map(|r| r.mapv(|x| -x).to_vec())
                .collect();
            a.push(vec![0.0; h]);
            for i in 0..h {
                let mut e = vec![0.0; h];
                e[i] = -1.0;
                a.push(e);
            }
            let mut rhs = vec![0.0; b.nrows()];
            rhs.push(1.0);
            rhs.extend(std::iter::repeat_n(0.0, h));
            let cones = [
                SupportedConeT::NonnegativeConeT(b.nrows()),
                SupportedConeT::SecondOrderConeT(h + 1),
            ];
            let settings = DefaultSettingsBuilder::default()
                .verbose(false)
                .build()
                .expect("valid settings");
            let p = CscMatrix::<f64>::zeros((h, h));
            let mut solver =
                DefaultSolver::new(&p, &minus_v, &CscMatrix::from(&a), &rhs, &cones, settings)
                    .expect("valid SOCP");
            solver.solve();
            let theirs = -solver.solution.obj_val;
            assert!(
                (ours - theirs).abs() < 1e-6,
                "trial {trial}: nnls {ours} vs SOCP {theirs}"
            );
        }
    }

    #[test]
    fn irredundant_rows_matches_lp_brute_force_on_random_pointed_cones() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (trial, (m, h)) in [
            (20, 3),
            (50, 3),
            (80, 3),
            (30, 4),
            (60, 4),
            (40, 9),
            (80, 9),
        ]
        .into_iter()
        .enumerate()
        {
            let (b, g) = random_pointed(&mut rng, m, h);
            let expected = brute_force(&b);
            let with_gate = irredundant_rows(b.view(), Some(&g), 1e-9);
            let without = irredundant_rows(b.view(), None, 1e-9);
            assert_eq!(
                with_gate, expected,
                "trial {trial} (m={m}, h={h}) with gate"
            );
            assert_eq!(
                without, expected,
                "trial {trial} (m={m}, h={h}) without gate"
            );
        }
    }

    #[test]
    fn irredundant_rows_returns_exactly_the_generators_of_a_cone_built_from_them() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for (trial, (ngen, h, m)) in [(6, 3, 60), (8, 4, 80), (12, 9, 80), (20, 9, 80)]
            .into_iter()
            .enumerate()
        {
            // Generators z_i = g/‖g‖² + ρ w_i with unit w_i ⊥ g: points on a sphere inside the
            // hyperplane g·z = 1 are in convex position, so every generator is extreme.
            let g = gauss(&mut rng, h);
            let gg = dot4(&g, &g);
            let gens: Vec<Vec<f64>> = (0..ngen)
                .map(|_| {
                    let mut w = gauss(&mut rng, h);
                    let d = dot4(&w, &g) / gg;
                    axpy(-d, &g, &mut w);
                    let wn = dot4(&w, &w).sqrt();
                    let mut z: Vec<f64> = g.iter().map(|v| v / gg).collect();
                    axpy(0.8 / gg.sqrt() / wn, &w, &mut z);
                    z
                })
                .collect();
            // Tagged rows: Some(i) = positive multiple of generator i, None = combination/zero.
            let mut tagged: Vec<(Option<usize>, Vec<f64>)> = Vec::new();
            for (i, z) in gens.iter().enumerate() {
                tagged.push((Some(i), z.clone()));
                let s = 0.1 + 3.0 * rng.random::<f64>();
                tagged.push((Some(i), z.iter().map(|v| v * s).collect())); // positive multiple
            }
            tagged.push((Some(0), gens[0].clone())); // exact duplicate
            tagged.push((None, vec![0.0; h]));
            tagged.push((None, vec![0.0; h]));
            while tagged.len() < m {
                let mut r = vec![0.0; h];
                let how_many = 2 + rng.random_range(0..ngen - 1);
                for _ in 0..how_many {
                    let i = rng.random_range(0..ngen);
                    axpy(rng.random::<f64>() + 0.01, &gens[i], &mut r);
                }
                // A single generator twice is a multiple of it, not an interior point.
                tagged.push((None, r));
            }
            // Deterministic shuffle.
            for i in (1..tagged.len()).rev() {
                let j = rng.random_range(0..=i);
                tagged.swap(i, j);
            }
            let rows: Vec<Vec<f64>> = tagged.iter().map(|(_, r)| r.clone()).collect();
            let b = rows_to_array(&rows, h);
            let mut expected: Vec<usize> = (0..ngen)
                .map(|i| {
                    tagged
                        .iter()
                        .position(|(t, _)| *t == Some(i))
                        .expect("every generator is present")
                })
                .collect();
            // A combination that used a single generator is a multiple of it and may come first.
            for (e, gi) in expected.iter_mut().zip(0..ngen) {
                let gz = &gens[gi];
                let gzn = dot4(gz, gz).sqrt();
                for (k, (_, r)) in tagged.iter().enumerate() {
                    let rn = dot4(r, r).sqrt();
                    if k < *e && rn > 0.0 && (dot4(r, gz) / (rn * gzn) - 1.0).abs() < 1e-12 {
                        *e = k;
                        break;
                    }
                }
            }
            expected.sort_unstable();
            let got = irredundant_rows(b.view(), Some(&g), 1e-9);
            assert_eq!(
                got, expected,
                "trial {trial}: kept rows vs first copies of the generators"
            );
            let got = irredundant_rows(b.view(), None, 1e-9);
            assert_eq!(got, expected, "trial {trial} without gate");
            assert_eq!(brute_force(&b), expected, "trial {trial}: brute force");
        }
    }

    #[test]
    fn irredundant_rows_keeps_first_of_duplicates_and_drops_zero_rows() {
        let b = ndarray::array![
            [0.0, 0.0, 0.0],
            [2.0, 0.0, 1.0],
            [1.0, 0.0, 0.5],
            [0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0],
            [0.0, 3.0, 3.0],
            [1.0, 1.0, 1.5],
            [4.0, 0.0, 2.0],
            [0.0, 0.1, 0.1],
        ];
        let got = irredundant_rows(b.view(), Some(&[0.0, 0.0, 1.0]), 1e-9);
        assert_eq!(got, vec![1, 3], "kept rows");
        let got = irredundant_rows(b.view(), None, 1e-9);
        assert_eq!(got, vec![1, 3], "kept rows without gate");
    }

    #[test]
    fn irredundant_rows_preserves_the_cone_on_random_points() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for h in [3, 4, 9] {
            let (b, g) = random_pointed(&mut rng, 200, h);
            let s = irredundant_rows(b.view(), Some(&g), 1e-9);
            assert!(
                s.len() < b.nrows(),
                "h={h}: nothing dropped ({} rows)",
                s.len()
            );
            let mut checked = 0;
            for _ in 0..20_000 {
                // Points near the cone so that both answers occur.
                let mut c = gauss(&mut rng, h);
                axpy(1.5 * rng.random::<f64>() / dot4(&g, &g).sqrt(), &g, &mut c);
                let cn = dot4(&c, &c).sqrt();
                let full = b.rows().into_iter().map(|r| {
                    r.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / (r.dot(&r).sqrt() * cn)
                });
                let min_full = full.fold(f64::INFINITY, f64::min);
                let min_s = s
                    .iter()
                    .map(|&k| {
                        let r = b.row(k);
                        r.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / (r.dot(&r).sqrt() * cn)
                    })
                    .fold(f64::INFINITY, f64::min);
                if min_full.abs() < 1e-9 || min_s.abs() < 1e-9 {
                    continue; // too close to the boundary to decide
                }
                checked += 1;
                assert_eq!(
                    min_full >= 0.0,
                    min_s >= 0.0,
                    "h={h}: B c ≥ 0 is {} (min {min_full}) but B_S c ≥ 0 is {} (min {min_s})",
                    min_full >= 0.0,
                    min_s >= 0.0
                );
            }
            assert!(checked > 19_000, "h={h}: only {checked} points decided");
        }
    }

    #[test]
    fn irredundant_rows_handles_cones_containing_lines() {
        // Rows b and −b: {c : Bc ≥ 0} lies in b⊥, K = cone{rows} contains the line ℝb.
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for (trial, (m, h, nlines)) in [(30, 3, 1), (40, 4, 1), (40, 4, 2), (50, 9, 3), (20, 3, 3)]
            .into_iter()
            .enumerate()
        {
            let (b0, _) = random_pointed(&mut rng, m, h);
            let mut rows: Vec<Vec<f64>> = b0.rows().into_iter().map(|r| r.to_vec()).collect();
            for _ in 0..nlines {
                let l = gauss(&mut rng, h);
                let pos = rng.random_range(0..rows.len());
                rows.insert(pos, l.clone());
                let pos = rng.random_range(0..rows.len());
                rows.insert(pos, l.iter().map(|v| -2.0 * v).collect());
            }
            let b = rows_to_array(&rows, h);
            let s = irredundant_rows(b.view(), None, 1e-9);
            check_same_cone_and_irredundant(&b, &s);
            // A gate that is not interior must not change correctness.
            let bad_gate = vec![1.0; h];
            let s2 = irredundant_rows(b.view(), Some(&bad_gate), 1e-9);
            check_same_cone_and_irredundant(&b, &s2);
            assert!(!s.is_empty(), "trial {trial}: empty result");
        }
        // b and −b alone: both are needed.
        let b = ndarray::array![[1.0, 2.0], [-1.0, -2.0]];
        assert_eq!(irredundant_rows(b.view(), None, 1e-9), vec![0, 1], "b, −b");
        // A positively spanning set of ℝ³ (cone = everything, P = {0}).
        let b = ndarray::array![
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [-1.0, -1.0, -1.0],
            [-1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
        ];
        let s = irredundant_rows(b.view(), None, 1e-9);
        check_same_cone_and_irredundant(&b, &s);
    }

    #[test]
    fn irredundant_rows_handles_lower_dimensional_pointed_cones() {
        // Rows spanning a 3-dimensional subspace of ℝ⁵.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (b3, _) = random_pointed(&mut rng, 40, 3);
        let basis: Vec<Vec<f64>> = (0..3).map(|_| gauss(&mut rng, 5)).collect();
        let rows: Vec<Vec<f64>> = b3
            .rows()
            .into_iter()
            .map(|r| {
                let mut v = vec![0.0; 5];
                for (i, x) in r.iter().enumerate() {
                    axpy(*x, &basis[i], &mut v);
                }
                v
            })
            .collect();
        let b = rows_to_array(&rows, 5);
        let expected = brute_force(&b3);
        assert_eq!(
            irredundant_rows(b.view(), None, 1e-9),
            expected,
            "embedded in ℝ⁵"
        );
        assert_eq!(brute_force(&b), expected, "brute force in ℝ⁵");
    }

    #[test]
    fn irredundant_rows_handles_degenerate_shapes() {
        let empty = Array2::<f64>::zeros((0, 4));
        assert!(
            irredundant_rows(empty.view(), None, 1e-9).is_empty(),
            "empty b"
        );
        let zeros = Array2::<f64>::zeros((5, 3));
        assert!(
            irredundant_rows(zeros.view(), None, 1e-9).is_empty(),
            "all-zero b"
        );
        let no_cols = Array2::<f64>::zeros((3, 0));
        assert!(
            irredundant_rows(no_cols.view(), None, 1e-9).is_empty(),
            "h = 0"
        );
        let h1 = ndarray::array![[2.0], [0.0], [3.0], [0.5]];
        assert_eq!(
            irredundant_rows(h1.view(), None, 1e-9),
            vec![0],
            "h = 1, one sign"
        );
        assert_eq!(
            irredundant_rows(h1.view(), Some(&[-1.0]), 1e-9),
            vec![0],
            "h = 1, bad gate"
        );
        let h1 = ndarray::array![[2.0], [-1.0], [3.0], [-0.5]];
        assert_eq!(
            irredundant_rows(h1.view(), None, 1e-9),
            vec![0, 1],
            "h = 1, both signs"
        );
        let nonfinite = ndarray::array![
            [1.0, 0.0],
            [f64::NAN, 1.0],
            [2.0, 0.0],
            [0.0, f64::INFINITY]
        ];
        assert_eq!(
            irredundant_rows(nonfinite.view(), None, 1e-9),
            vec![0, 1, 3],
            "non-finite rows kept"
        );
        let huge = ndarray::array![[1e300, 0.0], [0.0, 1e-300], [1e300, 1e-290]];
        assert_eq!(
            irredundant_rows(huge.view(), None, 1e-9),
            vec![0, 1],
            "extreme scales"
        );
        for tol in [f64::NAN, -1.0, 0.0, f64::INFINITY] {
            let b = ndarray::array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
            assert_eq!(
                irredundant_rows(b.view(), None, tol),
                vec![0, 1],
                "tol {tol}"
            );
        }
    }

    #[test]
    fn irredundant_rows_is_deterministic() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let (b, g) = digits_like(&mut rng, 2000);
        let first = irredundant_rows(b.view(), Some(&g), 1e-9);
        for _ in 0..3 {
            assert_eq!(
                irredundant_rows(b.view(), Some(&g), 1e-9),
                first,
                "repeat with gate"
            );
        }
        assert_eq!(
            irredundant_rows(b.view(), None, 1e-9),
            first,
            "own gate, same cone"
        );
    }

    #[test]
    fn irredundant_rows_matches_brute_force_on_digits_like_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (b, g) = digits_like(&mut rng, 300);
        let got = irredundant_rows(b.view(), Some(&g), 1e-9);
        let expected = brute_force(&b);
        assert_eq!(
            got, expected,
            "digits-like 300 rows: ours vs LP brute force"
        );
        assert!(got.len() < 100, "kept {} of 300", got.len());
    }

    /// Small-integer rows (entries in −2..=2, optionally all in one half-space): many exact
    /// degeneracies (rows on faces, coplanar generators, duplicates, lines).
    fn small_integer_case(rng: &mut ChaCha8Rng, m: usize, h: usize, pointed: bool) -> Array2<f64> {
        let g: Vec<f64> = (0..h).map(|i| 1.0 + 0.1 * i as f64).collect();
        let mut b = Array2::zeros((m, h));
        for k in 0..m {
            let mut r: Vec<f64> = (0..h)
                .map(|_| f64::from(rng.random_range(-2..=2i32)))
                .collect();
            if pointed {
                let d = dot4(&r, &g);
                if d < 0.0 {
                    r.iter_mut().for_each(|v| *v = -*v);
                } else if d == 0.0 {
                    r.iter_mut().for_each(|v| *v = 0.0);
                }
            }
            for (j, v) in r.iter().enumerate() {
                b[[k, j]] = *v;
            }
        }
        b
    }

    fn check_small_integer_cases(seed: u64, cases: usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for case in 0..cases {
            let h = 2 + case % 4;
            let m = 5 + rng.random_range(0..30);
            let pointed = case % 3 != 0;
            let b = small_integer_case(&mut rng, m, h, pointed);
            for tol in [1e-9, 1e-10] {
                let s = irredundant_rows(b.view(), None, tol);
                check_same_cone_and_irredundant(&b, &s);
                if pointed {
                    let g: Vec<f64> = (0..h).map(|i| 1.0 + 0.1 * i as f64).collect();
                    assert_eq!(
                        irredundant_rows(b.view(), Some(&g), tol),
                        s,
                        "seed {seed} case {case}: with gate vs without"
                    );
                    assert_eq!(brute_force(&b), s, "seed {seed} case {case}: brute force");
                }
            }
        }
    }

    #[test]
    fn irredundant_rows_is_exact_on_degenerate_small_integer_rows() {
        check_small_integer_cases(13, 24);
    }

    #[test]
    #[ignore = "stress; run with --ignored"]
    fn irredundant_rows_is_exact_on_many_degenerate_small_integer_rows() {
        for seed in 100..140 {
            check_small_integer_cases(seed, 30);
        }
    }

    #[test]
    #[ignore = "stress; run with --ignored"]
    fn irredundant_rows_matches_brute_force_on_many_digits_like_instances() {
        for seed in 200..215 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (b, g) = digits_like(&mut rng, 300);
            let expected = brute_force(&b);
            for tol in [1e-9, 1e-10] {
                assert_eq!(
                    irredundant_rows(b.view(), Some(&g), tol),
                    expected,
                    "seed {seed} tol {tol}"
                );
                assert_eq!(
                    irredundant_rows(b.view(), None, tol),
                    expected,
                    "seed {seed} tol {tol}, no gate"
                );
            }
        }
    }

    #[test]
    fn irredundant_rows_is_exact_with_many_extreme_rays() {
        // More than 4h kept rows switches the redundancy test to column generation.
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        // 150 generators on a circle in the plane z₃ = 1, plus interior combinations.
        let gens: Vec<Vec<f64>> = (0..150)
            .map(|i| {
                let a = 2.0 * std::f64::consts::PI * (i as f64 + 0.3 * rng.random::<f64>()) / 150.0;
                vec![a.cos(), a.sin(), 1.0]
            })
            .collect();
        let mut rows = gens.clone();
        for _ in 0..300 {
            let mut r = vec![0.0; 3];
            for _ in 0..3 {
                let i = rng.random_range(0..gens.len());
                axpy(rng.random::<f64>() + 0.01, &gens[i], &mut r);
            }
            rows.push(r);
        }
        let b = rows_to_array(&rows, 3);
        let expected: Vec<usize> = (0..gens.len()).collect();
        assert_eq!(
            irredundant_rows(b.view(), Some(&[0.0, 0.0, 1.0]), 1e-10),
            expected,
            "circle"
        );
        assert_eq!(
            irredundant_rows(b.view(), None, 1e-10),
            expected,
            "circle, no gate"
        );
        // Wide random cones in ℝ⁵ with many extreme rays, against the LP.
        for m in [120, 200] {
            let (b, g) = random_pointed(&mut rng, m, 5);
            let expected = brute_force(&b);
            assert!(expected.len() > 20, "only {} extreme rays", expected.len());
            assert_eq!(
                irredundant_rows(b.view(), Some(&g), 1e-10),
                expected,
                "m={m}, h=5"
            );
        }
    }

    #[test]
    fn irredundant_rows_handles_larger_dimensions() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        for (m, h) in [(60, 16), (60, 25), (40, 27)] {
            let (b, g) = random_pointed(&mut rng, m, h);
            let expected = brute_force(&b);
            assert_eq!(
                irredundant_rows(b.view(), Some(&g), 1e-10),
                expected,
                "m={m} h={h}"
            );
            assert_eq!(
                irredundant_rows(b.view(), None, 1e-10),
                expected,
                "m={m} h={h}, no gate"
            );
        }
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn irredundant_rows_timing_on_digits_like_data() {
        for m in [300, 3_600, 40_000] {
            let mut rng = ChaCha8Rng::seed_from_u64(12);
            let (b, g) = digits_like(&mut rng, m);
            let reps = if m <= 3_600 { 20 } else { 5 };
            let t0 = std::time::Instant::now();
            let mut kept = Vec::new();
            for _ in 0..reps {
                kept = irredundant_rows(b.view(), Some(&g), 1e-9);
            }
            let with_gate = t0.elapsed().as_secs_f64() / reps as f64;
            let t0 = std::time::Instant::now();
            let kept2 = irredundant_rows(b.view(), None, 1e-9);
            let without = t0.elapsed().as_secs_f64();
            assert_eq!(kept, kept2, "m={m}: with and without gate");
            println!(
                "m = {m:>6}, h = 9: kept {:>4} rows ({} distinct directions), {:.2} ms with gate, {:.2} ms without",
                kept.len(),
                first_directions_fast(&b),
                with_gate * 1e3,
                without * 1e3
            );
        }
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn irredundant_rows_timing_with_many_extreme_rays() {
        for (m, h) in [(3_600, 9), (40_000, 9), (3_600, 27)] {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let (b, g) = random_pointed(&mut rng, m, h);
            let t0 = std::time::Instant::now();
            let kept = irredundant_rows(b.view(), Some(&g), 1e-10);
            println!(
                "Gaussian rows m = {m:>6}, h = {h:>2}: kept {:>5} rows in {:.1} ms",
                kept.len(),
                t0.elapsed().as_secs_f64() * 1e3
            );
        }
    }

    fn first_directions_fast(b: &Array2<f64>) -> usize {
        let (_, h) = b.dim();
        let mut idx = Vec::new();
        let mut units = Vec::new();
        for (i, row) in b.rows().into_iter().enumerate() {
            let start = units.len();
            units.resize(start + h, 0.0);
            if unit_into(row.iter().copied(), &mut units[start..]).is_some() {
                idx.push(i);
            } else {
                units.truncate(start);
            }
        }
        dedup(&idx, &units, h).0.len()
    }
}
