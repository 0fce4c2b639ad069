//! The MPS writer: a pure function of the [`ConicProgram`].

use crate::ir::{ConeKind, ConicProgram};
use std::fmt::Write as _;

/// Why a program cannot be written as MPS.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// The first row block whose cone MPS cannot hold (second-order or rotated second-order).
    #[error(
        "row block {block} is {} {cone} cone; MPS holds linear constraints and a quadratic \
         objective only; use --format cbf",
        if .cone.starts_with('e') {"an"} else {"a"}
    )]
    Cone {
        /// Name of the row block.
        block: String,
        /// Its cone, in words (e.g. `"second-order"`).
        cone: String,
    },
    /// The program fails [`ConicProgram::check`] (e.g. a non-finite coefficient), so no valid
    /// file could be written.
    #[error("the program cannot be written as MPS: {message}")]
    Invalid {
        /// The message of [`ConicProgram::check`].
        message: String,
    },
}

/// Shortest text that parses back to exactly `v` (finite `v`): Rust's shortest round-trip digits,
/// in plain or scientific notation, whichever is shorter (plain on a tie).
pub(super) fn fmt_num(v: f64) -> String {
    let plain = format!("{v}");
    let sci = format!("{v:e}");
    if sci.len() < plain.len() { sci } else { plain }
}

fn cone_words(cone: ConeKind) -> &'static str {
    match cone {
        ConeKind::Zero => "zero",
        ConeKind::Nonnegative => "nonnegative",
        ConeKind::SecondOrder => "second-order",
        ConeKind::RotatedSecondOrder => "rotated second-order",
        ConeKind::Exponential => "exponential",
    }
}

/// Free MPS with a QUADOBJ section. Deterministic bytes.
///
/// Rows are named `r0, r1, …` in IR order (zero cone → `E`, nonnegative → `L`), columns
/// `x0, x1, …`, the objective row `obj`. Duplicate entries of `A` are summed and zeros skipped; a
/// column with no nonzero at all is declared by an explicit `obj 0` entry. The objective constant is
/// written as `RHS obj −constant` (see the module documentation). Every variable gets an `FR` bound.
/// Numbers use the shortest decimal text that parses back to the same `f64`.
pub fn write(program: &ConicProgram) -> Result<String, WriteError> {
    for blk in &program.row_blocks {
        if !blk.cone.is_linear() {
            return Err(WriteError::Cone {
                block: blk.name.clone(),
                cone: cone_words(blk.cone).into(),
            });
        }
    }
    program
        .check()
        .map_err(|message| WriteError::Invalid { message })?;
    let (m, n) = (program.n_rows(), program.n_vars());
    // `check` guarantees the blocks tile 0..m exactly.
    let mut kind = vec!['E'; m];
    for blk in &program.row_blocks {
        let k = if blk.cone == ConeKind::Zero { 'E' } else { 'L' };
        kind[blk.start..blk.start + blk.len].fill(k);
    }

    let mut out = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "NAME cvxcnn");
    let _ = writeln!(out, "ROWS");
    let _ = writeln!(out, " N  obj");
    for (i, k) in kind.iter().enumerate() {
        let _ = writeln!(out, " {k}  r{i}");
    }
    let _ = writeln!(out, "COLUMNS");
    let a = program.a_csc();
    for j in 0..n {
        let mut any = false;
        if program.q[j] != 0.0 {
            let _ = writeln!(out, "    x{j} obj {}", fmt_num(program.q[j]));
            any = true;
        }
        for e in a.colptr[j]..a.colptr[j + 1] {
            let v = a.nzval[e];
            if v != 0.0 {
                let _ = writeln!(out, "    x{j} r{} {}", a.rowval[e], fmt_num(v));
                any = true;
            }
        }
        if !any {
            // A column exists in MPS only through its COLUMNS entries.
            let _ = writeln!(out, "    x{j} obj 0");
        }
    }
    let _ = writeln!(out, "RHS");
    if program.constant != 0.0 {
        let _ = writeln!(out, "    RHS obj {}", fmt_num(-program.constant));
    }
    for (i, &b) in program.b.iter().enumerate() {
        if b != 0.0 {
            let _ = writeln!(out, "    RHS r{i} {}", fmt_num(b));
        }
    }
    let _ = writeln!(out, "BOUNDS");
    for j in 0..n {
        let _ = writeln!(out, " FR BND x{j}");
    }
    if program.p_diag.iter().any(|&p| p != 0.0) {
        let _ = writeln!(out, "QUADOBJ");
        for (j, &p) in program.p_diag.iter().enumerate() {
            if p != 0.0 {
                let _ = writeln!(out, "    x{j} x{j} {}", fmt_num(p));
            }
        }
    }
    let _ = writeln!(out, "ENDATA");
    Ok(out)
}
