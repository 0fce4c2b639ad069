//! Clarkson's output-sensitive extreme-ray search behind [`irredundant_rows`] (see
//! [`super::cone`] for what it computes).
//!
//! If g is a strictly interior point of P (b_k·g > 0 for every nonzero row), the points
//! z_k = b_k / (g·b_k) lie on the hyperplane {z : g·z = 1} and the extreme rays of K are exactly
//! the vertices of conv{z_k}. They are found with Clarkson's output-sensitive method: a row is
//! tested against the current set E of kept rows with one nonnegative least-squares solve
//! min_{α ≥ 0} ‖Eᵀα − b_k‖₂; a positive residual r separates b_k from cone(E)
//! (r·b_e ≤ 0 for all e ∈ E, r·b_k = ‖r‖² > 0), and the row maximising r·z_j over all rows is a
//! vertex not yet in E. Every row costs one redundancy test and every extreme ray one extra pass.
//!
//! That pass is the expensive part on tens of thousands of rows, so the rows are visited in two
//! parts: first the 1/64 with the smallest margin ĝ·b̂_k (the largest z_k, where nearly every
//! vertex lies on image data), whose passes scan only that part, then all others, whose passes
//! scan every row not yet visited. A row kept in the first part is a vertex of that part only;
//! the final pass removes it if the other kept rows generate it. On all 1,797 digits with 2,000
//! gates this took the reduction from 19.8 s to 14.0 s (2 cores), with the same rows kept.
//!
//! After the first part, most rows lie deep inside cone(E): a cached simplicial cone of kept rows
//! contains every unit row within some angle of the gate, and a row whose margin ĝ·b̂_k puts it
//! within that angle is certified by the margin alone ([`SimplexCache::gate_cap`] proves it); the
//! rest are tested a chunk at a time against the last useful cached cone (two matrix products).
//! On all digits with 2,000 gates (2-core Intel Xeon) the margin proof took the reduction from
//! 5.7 s to 3.5 s (docs/benchmarks.md, "Preparation on all digits with 2,000 gates").
//!
//! Otherwise a redundancy test is only ever accepted through an explicit certificate α ≥ 0 with
//! ‖b̂_k − Eᵀα‖ ≤ tol recomputed directly. To make the tests cheap it tries, in order: a cache of
//! simplicial cones (h kept rows with a stored inverse) that recently certified other rows —
//! on image data nearly every row falls in one of them; Lawson–Hanson on the normal equations
//! with the Gram matrix of E maintained incrementally (while |E| ≤ 4h); column generation over E
//! (when |E| > 4h); and the QR-based Lawson–Hanson solver, whose KKT residual feeds the vertex
//! search.

use ndarray::ArrayView2;

use super::cache::SimplexCache;
use super::gate::least_distance_gate;
use super::rows::{Base, Rows};
use super::units::{UnitRows, dedup, fixed_direction};
use crate::linalg::{GramNnls, NnlsWork, W_TOL, axpy, dot4, unit_into};

/// Smallest relative tolerance accepted by [`irredundant_rows`]: residuals of a few ulps are noise.
const MIN_TOL: f64 = 1e-12;
/// Largest relative tolerance accepted by [`irredundant_rows`] (beyond it "redundant" is meaningless).
const MAX_TOL: f64 = 0.1;
/// Tolerance used when the caller passes NaN.
const DEFAULT_TOL: f64 = 1e-9;
/// A row is strictly inside the open half-space of the gate ĝ when û·ĝ > GOOD_MIN.
const GOOD_MIN: f64 = 1e-11;
/// The mean row direction is used as gate when every row has at least this margin.
const MEAN_GATE_MIN: f64 = 1e-6;
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
    let tol = clamp_tol(tol);

    // 1. Unit rows; zero rows dropped, non-finite rows kept unconditionally.
    let rows = UnitRows::of(b, 0..b.nrows());

    // 2. One row per direction (the first index).
    let (reps, u, _) = dedup(&rows.idx, &rows.units, h);

    // 3. Reduce.
    let base = Base::new(u, h, false);
    let mut out: Vec<usize> = irredundant_units(Rows::plain(&base), interior, tol)
        .into_iter()
        .map(|pos| reps[pos])
        .collect();
    out.extend(rows.non_finite);
    out.sort_unstable();
    out
}

/// The reduction of [`irredundant_rows`] on rows that are already unit and finite, with the
/// tolerance already clamped: the positions of the kept rows, in no particular order. Rows should
/// be distinct directions; a repeated direction is harmless (the copy is certified redundant
/// against the kept one) but costs a test.
pub(super) fn irredundant_units(rows: Rows, interior: Option<&[f64]>, tol: f64) -> Vec<usize> {
    if rows.len() == 0 {
        return Vec::new();
    }
    let mut red = Reducer::new(rows, tol);
    red.choose_gate(interior);
    red.run()
}

/// `tol` clamped to [MIN_TOL, MAX_TOL], NaN meaning DEFAULT_TOL.
pub(super) fn clamp_tol(tol: f64) -> f64 {
    if tol.is_nan() {
        DEFAULT_TOL
    } else {
        tol.clamp(MIN_TOL, MAX_TOL)
    }
}

/// With more than SCREEN_FACTOR·h kept rows, a redundancy test first tries the 3h kept rows most
/// similar to the tested row.
const SCREEN_FACTOR: usize = 4;
/// Clarkson's search first visits the 1/FIRST_FRACTION of the good rows nearest the gate's
/// hyperplane (at least FIRST_MIN·h of them): on all 1,797 digits with 2,000 gates, 99 % of the
/// kept rows of a pattern are among its 1 % rows of smallest margin.
const FIRST_FRACTION: usize = 64;
const FIRST_MIN: usize = 16;
/// Rows left after a batch of cache tests below which they are tested one by one.
const SIFT_MIN: usize = 32;

// ---------------------------------------------------------------------------------------------
// Clarkson's output-sensitive extreme-ray search.

struct Reducer<'a> {
    h: usize,
    n: usize,
    /// Deduplicated unit rows.
    rows: Rows<'a>,
    tol: f64,
    /// 1/(ĝ·û_j) for good rows (strictly inside the gate's open half-space), so z_j = û_j · gd_j;
    /// 0 for the others, which are handled greedily ([`Reducer::good`]).
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
    /// z_j = û_j·gd_j of the rows being visited, column-major (`zlen` columns), and the scan's
    /// values r·z_j.
    z: Vec<f64>,
    zlen: usize,
    vals: Vec<f64>,
    /// Secondary direction breaking ties of r·z_j.
    s2: Vec<f64>,
    /// The unit gate (None when no gate was found).
    gate: Option<Vec<f64>>,
}

impl<'a> Reducer<'a> {
    fn new(rows: Rows<'a>, tol: f64) -> Self {
        let n = rows.len();
        let h = rows.base.h;
        Reducer {
            h,
            n,
            rows,
            tol,
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
            z: Vec::new(),
            zlen: 0,
            vals: Vec::new(),
            s2: fixed_direction(h, 0x5eed_0002),
            gate: None,
        }
    }

    fn row(&self, j: usize) -> &'a [f64] {
        self.rows.row(j)
    }

    /// Sets `gd` from the caller's gate when it is strictly interior, else from the
    /// least-distance gate; rows not strictly inside stay "bad".
    fn choose_gate(&mut self, interior: Option<&[f64]>) {
        let h = self.h;
        if let Some(g) = interior
            && g.len() == h
            && g.iter().all(|v| v.is_finite())
        {
            let mut gh = vec![0.0; h];
            if unit_into(g.iter().copied(), &mut gh).is_some() {
                let d = self.rows.dots(&gh);
                if d.iter().all(|&v| v > GOOD_MIN) {
                    self.set_gate(gh, &d);
                    return;
                }
            }
        }
        // Cheap candidate: the mean direction of the rows, if it has a clear margin.
        let mut mean = vec![0.0; h];
        for j in 0..self.n {
            axpy(1.0, self.row(j), &mut mean);
        }
        let mut gh = vec![0.0; h];
        if unit_into(mean.iter().copied(), &mut gh).is_some() {
            let d = self.rows.dots(&gh);
            if d.iter().all(|&v| v > MEAN_GATE_MIN) {
                self.set_gate(gh, &d);
                return;
            }
        }
        if let Some(gh) = least_distance_gate(&self.rows.to_vec(), h) {
            let d = self.rows.dots(&gh);
            self.set_gate(gh, &d);
        }
    }

    /// The unit gate ĝ, with every row's margin `d_j = ĝ·û_j`.
    fn set_gate(&mut self, gh: Vec<f64>, d: &[f64]) {
        self.gate = Some(gh);
        for (j, &dj) in d.iter().enumerate() {
            self.gd[j] = if dj > GOOD_MIN { 1.0 / dj } else { 0.0 };
        }
        self.pointed = self.gd.iter().all(|&g| g > 0.0);
    }

    /// Row `j` is strictly inside the gate's open half-space (`gd_j > 0`).
    fn good(&self, j: usize) -> bool {
        self.gd[j] > 0.0
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
        let uk = self.row(k);
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
        let uk = self.row(k);
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

    /// argmax over the rows of `scope` (good rows) of r·z_j (r = last QR residual), ties within
    /// rounding broken by the secondary direction and then by the earliest position in `scope`,
    /// so the pick is a vertex of conv{z_j : j ∈ scope}. Also returns whether the pick is
    /// certified extreme, which `complete` says may be tried: `scope` then holds every row that is
    /// neither kept nor certified inside cone(E). In a pointed cone, if r·z_j ≤ T for every other
    /// row that can still be kept, and top = r·z_e, then û_e ≈ Σ α_j û_j + ρ with ‖ρ‖ ≤ tol would
    /// give (top − T⁺)(ĝ·û_e) ≤ tol (T⁺ + ‖r‖); a larger gap proves the NNLS residual of û_e on
    /// the other rows exceeds tol.
    fn pick(&mut self, scope: &[usize], complete: bool) -> Option<(usize, bool)> {
        let r = &self.work.r;
        let rn = dot4(r, r).sqrt();
        // r·z_j for the scope: the last scope.len() columns of z, one coordinate at a time.
        let (zlen, ns) = (self.zlen, scope.len());
        let vals = &mut self.vals;
        vals.clear();
        vals.resize(ns, 0.0);
        for (a, &ra) in r.iter().enumerate() {
            let za = &self.z[(a + 1) * zlen - ns..(a + 1) * zlen];
            for (v, &zj) in vals.iter_mut().zip(za) {
                *v += ra * zj;
            }
        }
        let mut best = None;
        let mut top = f64::NEG_INFINITY;
        let mut second = f64::NEG_INFINITY;
        for (p, &v) in vals.iter().enumerate() {
            if v > top {
                second = top;
                top = v;
                best = Some(p);
            } else if v > second {
                second = v;
            }
        }
        let jb = scope[best?];
        let gb = self.gd[jb];
        let mut pick = jb;
        let mut sbest = f64::NEG_INFINITY;
        let mut ties = 0;
        for (&j, &v) in scope.iter().zip(vals.iter()) {
            if top - v <= TIE_TOL * rn * (self.gd[j] + gb) {
                ties += 1;
                let s = dot4(&self.s2, self.rows.row(j)) * self.gd[j];
                if s > sbest {
                    sbest = s;
                    pick = j;
                }
            }
        }
        let mut certified = false;
        if complete && self.pointed && ties == 1 {
            let mut t_max = second;
            for &f in &self.e {
                t_max = t_max.max(dot4(r, self.rows.row(f)) * self.gd[f]);
            }
            let tp = t_max.max(0.0);
            certified = (top - tp) / self.gd[pick] > 2.0 * self.tol * (tp + rn);
        }
        Some((pick, certified))
    }

    /// The good rows Clarkson's search visits first, ascending: the 1/FIRST_FRACTION nearest the
    /// gate's hyperplane (the largest z_j, where nearly every vertex lies on image data), or every
    /// good row when there are few.
    fn front(&self) -> Vec<usize> {
        let mut good: Vec<(f64, usize)> = (0..self.n)
            .filter(|&j| self.good(j))
            .map(|j| (self.gd[j], j))
            .collect();
        let first = (good.len() / FIRST_FRACTION).max(FIRST_MIN * self.h);
        if first < good.len() {
            good.select_nth_unstable_by(first - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            good.truncate(first);
        }
        let mut front: Vec<usize> = good.into_iter().map(|(_, j)| j).collect();
        front.sort_unstable();
        front
    }

    /// Returns the positions of the kept rows.
    fn run(&mut self) -> Vec<usize> {
        // Rows outside the gate's open half-space (in the lineality space, or no gate at all):
        // keep every row that is not already generated by the kept ones.
        for k in 0..self.n {
            if !self.good(k) && self.test(k) > self.tol {
                self.add(k);
            }
        }
        // Clarkson: each good row is either certified redundant or triggers a new vertex. The rows
        // nearest the gate's hyperplane go first and their vertices are searched among themselves
        // (a cheap scan); a vertex found there need not be one of the whole cone, so it is left to
        // the final pass. The other rows then mostly fall in cached simplices of those vertices,
        // and a row that does not starts a search over every row not yet visited.
        let front = self.front();
        self.visit(&front, false);
        // The others are first certified in bulk (by their margin, or CHUNK at a time against the
        // cached simplicial cone used last); the few left are visited, and scanned by the vertex
        // search, in their order.
        let rest = self.sift_cached(&front);
        self.visit(&rest, true);
        self.final_pass()
    }

    /// The good rows outside `front` (ascending) that no cached simplicial cone certifies inside
    /// cone(E), ascending, without the kept ones. Rows whose margin puts them in the widest
    /// circular cone around the gate inside a cached cone are certified by that margin alone (on
    /// all digits, nine rows in ten); the others are tested CHUNK at a time against the most
    /// recently useful cached cone.
    fn sift_cached(&mut self, front: &[usize]) -> Vec<usize> {
        let cap = match &self.gate {
            Some(gh) if self.pointed => self.cache.gate_cap(&self.ecols, gh, self.tol),
            _ => None,
        };
        let deep = |j: usize| cap.is_some_and(|c| self.gd[j] * c <= 1.0);
        let mut in_front = front.iter().peekable();
        let left: Vec<usize> = (0..self.n)
            .filter(|&j| {
                if in_front.next_if_eq(&&j).is_some() {
                    return false;
                }
                self.good(j) && !self.in_e[j] && !deep(j)
            })
            .collect();
        // Against the most recently useful cached cone only: on all digits, testing what is left
        // against more of them cost more than the one-by-one tests it saved.
        if left.len() < SIFT_MIN || self.cache.len() == 0 {
            return left;
        }
        let mut uncertified = Vec::with_capacity(left.len());
        self.cache
            .sift(&self.ecols, &self.rows, &left, self.tol, &mut uncertified);
        uncertified
    }

    /// Clarkson's search over `order`: each row is certified redundant or triggers new vertices,
    /// searched among the rows of `order` not yet visited. `complete` says those are all the rows
    /// that are neither kept nor certified inside cone(E) (see [`Self::pick`]).
    fn visit(&mut self, order: &[usize], complete: bool) {
        // z_j of the rows of `order`, column-major, for the vertex search's scans.
        let (h, len) = (self.h, order.len());
        self.zlen = len;
        self.z.clear();
        self.z.resize(h * len, 0.0);
        for (p, &j) in order.iter().enumerate() {
            for (a, &v) in self.rows.row(j).iter().enumerate() {
                self.z[a * len + p] = v * self.gd[j];
            }
        }
        for (pos, &k) in order.iter().enumerate() {
            if self.in_e[k] {
                continue;
            }
            let scope = &order[pos..];
            loop {
                if self.test(k) <= self.tol {
                    break;
                }
                // Rows visited before k are kept or certified inside cone(E), where
                // r·z ≤ 0 < r·z_k: they cannot attain the maximum, so only the scope is scanned.
                match self.pick(scope, complete) {
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

#[cfg(test)]
pub(super) mod tests;
