//! Lowering of the model read from an MPS file to the IR: senses, ranges and bounds become
//! rows of the [`ConicProgram`] (see the mapping in [`crate::export::mps`]).

use super::{INFINITE_BOUND, ParseError, Reader, Sense, err};
use crate::ir::{ConeKind, ConicProgram};

impl Reader {
    /// Lowers the model read so far to the IR (at the `ENDATA` on `line`).
    pub(super) fn finish(self, line: usize) -> Result<ConicProgram, ParseError> {
        let sign = if self.maximize { -1.0 } else { 1.0 };
        let n = self.cols.len();
        let mut p = ConicProgram::new();
        p.add_vars("x", n);
        for (j, c) in self.cols.iter().enumerate() {
            // `+ 0.0` turns a negated zero into a plain one.
            p.q[j] = sign * c.obj + 0.0;
            p.p_diag[j] = sign * c.quad + 0.0;
            if p.p_diag[j] < 0.0 {
                let how = if self.maximize {
                    " (maximizing a convex quadratic)"
                } else {
                    ""
                };
                return Err(err(
                    c.quad_line,
                    format!(
                        "the quadratic objective is not convex: entry ({0}, {0}) = {1}{how}",
                        c.name, c.quad
                    ),
                ));
            }
        }
        p.constant = sign * -self.obj_rhs + 0.0;

        // Each constraint row: a primary IR row in file order, maybe a second (range) one.
        // `(coefficient sign, rhs)` of `sign·aᵀx + s = rhs`.
        let m = self.rows.len();
        let mut primary = Vec::with_capacity(m);
        let mut second: Vec<Option<(f64, f64)>> = vec![None; m];
        for (i, row) in self.rows.iter().enumerate() {
            let r = row.rhs;
            let range = row.range.filter(|&v| v != 0.0 || row.sense != Sense::E);
            let finite = |v: f64| v.abs() < INFINITE_BOUND;
            let (cone, s, b) = match (row.sense, range) {
                (Sense::E, None) => (ConeKind::Zero, 1.0, r),
                (Sense::E, Some(rg)) if rg > 0.0 => {
                    // r ≤ aᵀx ≤ r + |R|
                    if finite(rg) {
                        second[i] = Some((1.0, r + rg));
                    }
                    (ConeKind::Nonnegative, -1.0, -r)
                }
                (Sense::E, Some(rg)) => {
                    // r − |R| ≤ aᵀx ≤ r
                    if finite(rg) {
                        second[i] = Some((-1.0, -(r + rg)));
                    }
                    (ConeKind::Nonnegative, 1.0, r)
                }
                (Sense::L, rg) => {
                    if let Some(rg) = rg.filter(|&v| finite(v)) {
                        second[i] = Some((-1.0, -(r - rg.abs())));
                    }
                    (ConeKind::Nonnegative, 1.0, r)
                }
                (Sense::G, rg) => {
                    if let Some(rg) = rg.filter(|&v| finite(v)) {
                        second[i] = Some((1.0, r + rg.abs()));
                    }
                    (ConeKind::Nonnegative, -1.0, -r)
                }
            };
            primary.push((cone, s, b + 0.0));
        }
        let mut start = 0;
        while start < m {
            let cone = primary[start].0;
            let mut end = start + 1;
            while end < m && primary[end].0 == cone {
                end += 1;
            }
            let name = if end - start == 1 {
                self.rows[start].name.clone()
            } else {
                format!("{}..{}", self.rows[start].name, self.rows[end - 1].name)
            };
            let first = p.add_rows(&name, cone, end - start);
            for (k, &(_, _, b)) in primary[start..end].iter().enumerate() {
                p.b[first + k] = b;
            }
            start = end;
        }
        let n_second = second.iter().filter(|s| s.is_some()).count();
        let mut second_row = vec![usize::MAX; m];
        if n_second > 0 {
            let mut r = p.add_rows("ranges", ConeKind::Nonnegative, n_second);
            for (i, s) in second.iter().enumerate() {
                if let Some((_, b)) = *s {
                    p.b[r] = b + 0.0;
                    second_row[i] = r;
                    r += 1;
                }
            }
        }
        for &(i, j, v) in &self.entries {
            p.push(i, j, primary[i].1 * v);
            if let Some((s, _)) = second[i] {
                p.push(second_row[i], j, s * v);
            }
        }

        // Bounds.
        let (mut lower, mut upper, mut fixed) = (Vec::new(), Vec::new(), Vec::new());
        for (j, c) in self.cols.iter().enumerate() {
            if c.lower == c.upper {
                fixed.push((j, c.lower));
                continue;
            }
            if c.lower > -INFINITE_BOUND {
                lower.push((j, c.lower));
            }
            if c.upper < INFINITE_BOUND {
                upper.push((j, c.upper));
            }
        }
        for (name, cone, list, s) in [
            ("lower_bounds", ConeKind::Nonnegative, &lower, -1.0),
            ("upper_bounds", ConeKind::Nonnegative, &upper, 1.0),
            ("fixed_bounds", ConeKind::Zero, &fixed, 1.0),
        ] {
            if list.is_empty() {
                continue;
            }
            let first = p.add_rows(name, cone, list.len());
            for (k, &(j, v)) in list.iter().enumerate() {
                p.push(first + k, j, s);
                p.b[first + k] = s * v + 0.0;
            }
        }
        p.check()
            .map_err(|e| err(line, format!("the program read is not valid: {e}")))?;
        Ok(p)
    }
}
