//! A small conic modeling IR that knows nothing of any solver.
//!
//! Convention (the only place it is stated; adapters are the only places a sign flips):
//!
//! ```text
//! minimize    ½ xᵀ diag(p) x + qᵀ x + constant
//! subject to  A x + s = b,   s ∈ K = K_1 × … × K_r
//! ```
//! which is Clarabel's standard form with a diagonal quadratic term. Variables live in named blocks,
//! rows in named blocks, and each row block carries one cone: the zero cone (equalities `A x = b`),
//! the nonnegative orthant (`A x ≤ b`), one second-order cone `{(s₀, s̄) : ‖s̄‖₂ ≤ s₀}` of the
//! block's length, or one rotated second-order cone `{(s₀, s₁, s̄) : 2 s₀ s₁ ≥ ‖s̄‖², s₀, s₁ ≥ 0}`
//! (CBF's `QR`), or one exponential cone `{(s₀, s₁, s₂) : s₁ e^{s₀/s₁} ≤ s₂, s₁ > 0}` (closed),
//! in Clarabel's order — CBF's `EXP` lists the same three entries reversed (`s₂ ≥ s₁ e^{s₀/s₁}`).

use serde::Serialize;

/// The cone of a row block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConeKind {
    /// `s = 0`.
    Zero,
    /// `s ≥ 0`.
    Nonnegative,
    /// One second-order cone `‖s[1..]‖₂ ≤ s[0]` over the whole block.
    SecondOrder,
    /// One rotated second-order cone `2 s[0] s[1] ≥ ‖s[2..]‖², s[0], s[1] ≥ 0` over the whole block.
    RotatedSecondOrder,
    /// One exponential cone `s[1] e^{s[0]/s[1]} ≤ s[2]`, `s[1] > 0` (closure), over a block of
    /// exactly three rows, in Clarabel's order.
    Exponential,
}

impl ConeKind {
    /// Smallest block length the cone makes sense for.
    pub fn min_len(self) -> usize {
        match self {
            ConeKind::Zero | ConeKind::Nonnegative => 0,
            ConeKind::SecondOrder => 1,
            ConeKind::RotatedSecondOrder => 2,
            ConeKind::Exponential => 3,
        }
    }

    /// Whether the cone is polyhedral (the zero cone or the orthant): what OSQP and MPS take.
    pub fn is_linear(self) -> bool {
        matches!(self, ConeKind::Zero | ConeKind::Nonnegative)
    }
}

/// A named, contiguous range of variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VarBlock {
    /// Name, e.g. `"c"`.
    pub name: String,
    /// First variable.
    pub start: usize,
    /// Number of variables.
    pub len: usize,
}

/// A named, contiguous range of rows with one cone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowBlock {
    /// Name, e.g. `"residual"`.
    pub name: String,
    /// The cone of these rows.
    pub cone: ConeKind,
    /// First row.
    pub start: usize,
    /// Number of rows.
    pub len: usize,
}

/// `min ½xᵀdiag(p)x + qᵀx + constant  s.t.  Ax + s = b, s ∈ K`.
#[derive(Debug, Clone, Default)]
pub struct ConicProgram {
    /// Variable blocks in order.
    pub var_blocks: Vec<VarBlock>,
    /// Diagonal of the quadratic term (one per variable).
    pub p_diag: Vec<f64>,
    /// Linear term.
    pub q: Vec<f64>,
    /// Constant added to the objective.
    pub constant: f64,
    /// Row blocks in order.
    pub row_blocks: Vec<RowBlock>,
    /// Entries `(row, col, value)` of `A`; repeated positions add up.
    pub entries: Vec<(usize, usize, f64)>,
    /// Right-hand side.
    pub b: Vec<f64>,
}

/// `A` in compressed sparse column form, duplicates summed, rows sorted in each column.
#[derive(Debug, Clone, PartialEq)]
pub struct Csc {
    /// Rows.
    pub m: usize,
    /// Columns.
    pub n: usize,
    /// Column pointers (`n + 1`).
    pub colptr: Vec<usize>,
    /// Row index of each entry.
    pub rowval: Vec<usize>,
    /// Value of each entry.
    pub nzval: Vec<f64>,
}

impl ConicProgram {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of variables.
    pub fn n_vars(&self) -> usize {
        self.q.len()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.b.len()
    }

    /// Adds a block of `len` variables with zero objective; returns its first index.
    pub fn add_vars(&mut self, name: &str, len: usize) -> usize {
        let start = self.n_vars();
        self.var_blocks.push(VarBlock {
            name: name.into(),
            start,
            len,
        });
        self.p_diag.resize(start + len, 0.0);
        self.q.resize(start + len, 0.0);
        start
    }

    /// Adds a block of `len` rows in `cone` with `b = 0`; returns its first row.
    pub fn add_rows(&mut self, name: &str, cone: ConeKind, len: usize) -> usize {
        let start = self.n_rows();
        self.row_blocks.push(RowBlock {
            name: name.into(),
            cone,
            start,
            len,
        });
        self.b.resize(start + len, 0.0);
        start
    }

    /// Adds `value` at `A[row, col]`.
    pub fn push(&mut self, row: usize, col: usize, value: f64) {
        if value != 0.0 {
            self.entries.push((row, col, value));
        }
    }

    /// The variable block called `name`.
    pub fn var_block(&self, name: &str) -> Option<&VarBlock> {
        self.var_blocks.iter().find(|b| b.name == name)
    }

    /// Objective value at `x`.
    pub fn objective(&self, x: &[f64]) -> f64 {
        let mut v = self.constant;
        for ((&p, &q), &xi) in self.p_diag.iter().zip(&self.q).zip(x) {
            v += 0.5 * p * xi * xi + q * xi;
        }
        v
    }

    /// `A` in CSC form (duplicates summed).
    pub fn a_csc(&self) -> Csc {
        let (m, n) = (self.n_rows(), self.n_vars());
        let mut count = vec![0usize; n + 1];
        for &(_, c, _) in &self.entries {
            count[c + 1] += 1;
        }
        for j in 0..n {
            count[j + 1] += count[j];
        }
        let mut next = count.clone();
        let mut rows = vec![0usize; self.entries.len()];
        let mut vals = vec![0.0; self.entries.len()];
        for &(r, c, v) in &self.entries {
            rows[next[c]] = r;
            vals[next[c]] = v;
            next[c] += 1;
        }
        let mut colptr = Vec::with_capacity(n + 1);
        let mut rowval = Vec::with_capacity(rows.len());
        let mut nzval = Vec::with_capacity(rows.len());
        colptr.push(0);
        let mut buf: Vec<(usize, f64)> = Vec::new();
        for j in 0..n {
            buf.clear();
            buf.extend((count[j]..count[j + 1]).map(|e| (rows[e], vals[e])));
            buf.sort_by_key(|&(r, _)| r);
            for &(r, v) in buf.iter() {
                if rowval.len() > colptr[j] && *rowval.last().unwrap_or(&usize::MAX) == r {
                    // Same position as the previous entry of this column: add up.
                    if let Some(last) = nzval.last_mut() {
                        *last += v;
                    }
                } else {
                    rowval.push(r);
                    nzval.push(v);
                }
            }
            colptr.push(rowval.len());
        }
        Csc {
            m,
            n,
            colptr,
            rowval,
            nzval,
        }
    }

    /// Worst violation of the constraints at `x`: the largest distance of `b − Ax` from its cone,
    /// block by block (absolute, in the units of the rows).
    pub fn max_violation(&self, x: &[f64]) -> f64 {
        let mut s = self.b.clone();
        for &(r, c, v) in &self.entries {
            s[r] -= v * x[c];
        }
        let mut worst: f64 = 0.0;
        for blk in &self.row_blocks {
            let sl = &s[blk.start..blk.start + blk.len];
            let v = match blk.cone {
                ConeKind::Zero => sl.iter().fold(0.0_f64, |a, v| a.max(v.abs())),
                ConeKind::Nonnegative => sl.iter().fold(0.0_f64, |a, v| a.max(-v)),
                ConeKind::SecondOrder => soc_distance(sl[0], &sl[1..]),
                ConeKind::RotatedSecondOrder => {
                    // The rotation (s₀ + s₁, s₀ − s₁)/√2 maps the rotated cone onto the plain one
                    // isometrically, so distances agree.
                    let r = std::f64::consts::FRAC_1_SQRT_2;
                    let mut tail = vec![r * (sl[0] - sl[1])];
                    tail.extend_from_slice(&sl[2..]);
                    soc_distance(r * (sl[0] + sl[1]), &tail)
                }
                ConeKind::Exponential => exp_residual(sl[0], sl[1], sl[2]),
            };
            worst = worst.max(v);
        }
        worst
    }

    /// Checks the program's internal consistency: lengths, indices, finite values, cone sizes.
    /// Readers of external files call this before handing a program to a backend.
    pub fn check(&self) -> Result<(), String> {
        let (m, n) = (self.n_rows(), self.n_vars());
        if self.p_diag.len() != n {
            return Err(format!(
                "{} quadratic entries for {n} variables",
                self.p_diag.len()
            ));
        }
        if let Some(v) = self.p_diag.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(format!(
                "quadratic diagonal entry {v} (must be finite and ≥ 0)"
            ));
        }
        if let Some(v) = self.q.iter().chain(&self.b).find(|v| !v.is_finite()) {
            return Err(format!("non-finite coefficient {v}"));
        }
        if !self.constant.is_finite() {
            return Err(format!("non-finite objective constant {}", self.constant));
        }
        for &(r, c, v) in &self.entries {
            if r >= m || c >= n {
                return Err(format!(
                    "entry ({r}, {c}) outside the {m} × {n} constraint matrix"
                ));
            }
            if !v.is_finite() {
                return Err(format!("non-finite entry {v} at ({r}, {c})"));
            }
        }
        let mut next = 0;
        for blk in &self.row_blocks {
            if blk.start != next {
                return Err(format!(
                    "row block {} starts at {} instead of {next}",
                    blk.name, blk.start
                ));
            }
            if blk.cone == ConeKind::Exponential && blk.len != 3 {
                return Err(format!(
                    "exponential cone block {} has length {} (must be 3)",
                    blk.name, blk.len
                ));
            }
            if blk.len < blk.cone.min_len() {
                return Err(format!(
                    "cone {:?} of block {} has length {}",
                    blk.cone, blk.name, blk.len
                ));
            }
            next += blk.len;
        }
        if next != m {
            return Err(format!("row blocks cover {next} of {m} rows"));
        }
        Ok(())
    }

    /// The same program with every rotated second-order cone written as a plain one: rows
    /// `(s₀, s₁)` become `((s₀ + s₁)/√2, (s₀ − s₁)/√2)`, an isometry that maps one cone onto the other.
    pub fn without_rotated_cones(&self) -> ConicProgram {
        let mut out = self.clone();
        let r = std::f64::consts::FRAC_1_SQRT_2;
        let mut rotate = vec![usize::MAX; self.n_rows()];
        for blk in out.row_blocks.iter_mut() {
            if blk.cone == ConeKind::RotatedSecondOrder {
                blk.cone = ConeKind::SecondOrder;
                rotate[blk.start] = blk.start;
                rotate[blk.start + 1] = blk.start;
            }
        }
        if rotate.iter().all(|&v| v == usize::MAX) {
            return out;
        }
        let mut entries = Vec::with_capacity(self.entries.len() * 2);
        for &(row, col, v) in &self.entries {
            let s0 = rotate[row];
            if s0 == usize::MAX {
                entries.push((row, col, v));
            } else if row == s0 {
                entries.push((s0, col, r * v));
                entries.push((s0 + 1, col, r * v));
            } else {
                entries.push((s0, col, r * v));
                entries.push((s0 + 1, col, -r * v));
            }
        }
        out.entries = entries;
        for blk in &self.row_blocks {
            if blk.cone == ConeKind::RotatedSecondOrder {
                let (b0, b1) = (self.b[blk.start], self.b[blk.start + 1]);
                out.b[blk.start] = r * (b0 + b1);
                out.b[blk.start + 1] = r * (b0 - b1);
            }
        }
        out
    }
}

/// How far `(a, b, c)` is from the exponential cone `b e^{a/b} ≤ c, b > 0` (closure: `b = 0,
/// a ≤ 0, c ≥ 0`): `(b e^{a/b} − c)₊` for `b > 0` — a residual in the units of `c`, not the
/// Euclidean distance, and zero exactly on the cone — else the largest of `−b`, `a₊`, `(−c)₊`.
fn exp_residual(a: f64, b: f64, c: f64) -> f64 {
    if b > 0.0 {
        (b * (a / b).exp() - c).max(0.0)
    } else {
        (-b).max(a.max(0.0)).max((-c).max(0.0))
    }
}

/// Distance of `(t, tail)` to the second-order cone `‖tail‖ ≤ t`.
fn soc_distance(t: f64, tail: &[f64]) -> f64 {
    let norm = tail.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm <= t {
        0.0
    } else if norm <= -t {
        (t * t + norm * norm).sqrt()
    } else {
        (norm - t) / std::f64::consts::SQRT_2
    }
}
