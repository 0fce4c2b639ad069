//! The CBF writer: a pure function of the [`ConicProgram`].

use crate::ir::{ConeKind, ConicProgram};
use std::fmt::Write as _;

/// Formats `v` so that parsing the text gives back exactly `v` (both of Rust's float formats are
/// shortest round-trip): plain decimal (`0.1`, `100`, `-0`) unless scientific notation is more than
/// two characters shorter (`1e300`, `1e-7`).
pub(super) fn number(v: f64) -> String {
    let plain = format!("{v}");
    let sci = format!("{v:e}");
    if plain.len() <= sci.len() + 2 {
        plain
    } else {
        sci
    }
}

/// The CBF cone of an IR row block.
fn cbf_cone(cone: ConeKind) -> &'static str {
    match cone {
        ConeKind::Zero => "L=",
        ConeKind::Nonnegative => "L+",
        ConeKind::SecondOrder => "Q",
        ConeKind::RotatedSecondOrder => "QR",
        ConeKind::Exponential => "EXP",
    }
}

/// Writes `program` as CBF version 3: `min gᵀx + g₀ s.t. a x + β ∈ K` with `a = −A`, `β = b`,
/// `g = q`, `g₀ = constant`, all variables free, and the quadratic term lifted into one extra
/// variable `t` (index `n`, objective coefficient 1) and a final `QR` block `(t, 1, √p_j x_j)`
/// when some `p_j > 0`, so that the file's optimal value equals the program's.
///
/// Deterministic: the same program gives the same bytes. Coordinates are 0-based, sorted (row, then
/// column), repeated IR entries are summed (in their original order, as [`ConicProgram::a_csc`]
/// does) and exact zeros dropped; consecutive `L=` or `L+` blocks are merged and empty blocks
/// skipped; empty sections are left out. Numbers round-trip exactly. The program is expected to
/// pass [`ConicProgram::check`] (`p ≥ 0`, finite values); otherwise the file means nothing.
pub fn write(program: &ConicProgram) -> String {
    let n = program.n_vars();
    let m = program.n_rows();
    // Lift of ½ Σ p_j x_j²: rows (t, 1, √p_j x_j).
    let lift: Vec<(usize, f64)> = program
        .p_diag
        .iter()
        .enumerate()
        .filter(|&(_, &p)| p > 0.0)
        .map(|(j, &p)| (j, p.sqrt()))
        .collect();
    let t = (!lift.is_empty()).then_some(n);
    let n_cbf = n + usize::from(t.is_some());

    let mut cones: Vec<(&'static str, usize)> = Vec::new();
    for blk in program.row_blocks.iter().filter(|b| b.len > 0) {
        let kind = cbf_cone(blk.cone);
        match cones.last_mut() {
            Some((last, len)) if *last == kind && matches!(kind, "L=" | "L+") => *len += blk.len,
            _ => cones.push((kind, blk.len)),
        }
    }
    // CBF's EXP lists an exponential cone's entries in the reverse of the IR's order
    // (`u₀ ≥ u₁ e^{u₂/u₁}` against the IR's `s₂ ≥ s₁ e^{s₀/s₁}`): IR row `start + i` is CBF row
    // `start + 2 − i`.
    let mut row_of: Vec<usize> = (0..m).collect();
    for blk in &program.row_blocks {
        if blk.cone == ConeKind::Exponential {
            for i in 0..blk.len {
                row_of[blk.start + i] = blk.start + blk.len - 1 - i;
            }
        }
    }
    let mut a: Vec<(usize, usize, f64)> = program
        .entries
        .iter()
        .map(|&(r, c, v)| (row_of[r], c, -v))
        .collect();
    let mut b: Vec<(usize, f64)> = program
        .b
        .iter()
        .enumerate()
        .map(|(r, &v)| (row_of[r], v))
        .collect();
    b.sort_by_key(|&(r, _)| r);
    let mut g: Vec<(usize, f64)> = program.q.iter().copied().enumerate().collect();
    let mut m_cbf = m;
    if let Some(t) = t {
        cones.push(("QR", 2 + lift.len()));
        a.push((m, t, 1.0));
        b.push((m + 1, 1.0));
        for (k, &(j, s)) in lift.iter().enumerate() {
            a.push((m + 2 + k, j, s));
        }
        g.push((t, 1.0));
        m_cbf += 2 + lift.len();
    }
    // Stable sort, then sum runs of equal positions in their original order.
    a.sort_by_key(|&(r, c, _)| (r, c));
    let mut merged: Vec<(usize, usize, f64)> = Vec::with_capacity(a.len());
    for (r, c, v) in a {
        match merged.last_mut() {
            Some(last) if last.0 == r && last.1 == c => last.2 += v,
            _ => merged.push((r, c, v)),
        }
    }
    merged.retain(|e| e.2 != 0.0);
    b.retain(|e| e.1 != 0.0);
    g.retain(|e| e.1 != 0.0);

    let mut out = String::new();
    out.push_str("# Written by cvxcnn: min g'x + g0 s.t. a x + b in K (a = -A of the IR).\n");
    if let Some(t) = t {
        let _ = writeln!(
            out,
            "# Variable {t} is t >= 1/2 x'diag(p)x through the last QR block (t, 1, sqrt(p_j) x_j)."
        );
    }
    let mut sections: Vec<String> = vec!["VER\n3\n".into(), "OBJSENSE\nMIN\n".into()];
    let mut var = format!("VAR\n{n_cbf} {}\n", usize::from(n_cbf > 0));
    if n_cbf > 0 {
        let _ = writeln!(var, "F {n_cbf}");
    }
    sections.push(var);
    if m_cbf > 0 {
        let mut con = format!("CON\n{m_cbf} {}\n", cones.len());
        for (kind, len) in &cones {
            let _ = writeln!(con, "{kind} {len}");
        }
        sections.push(con);
    }
    if !g.is_empty() {
        let mut s = format!("OBJACOORD\n{}\n", g.len());
        for (j, v) in &g {
            let _ = writeln!(s, "{j} {}", number(*v));
        }
        sections.push(s);
    }
    if program.constant != 0.0 {
        sections.push(format!("OBJBCOORD\n{}\n", number(program.constant)));
    }
    if !merged.is_empty() {
        let mut s = format!("ACOORD\n{}\n", merged.len());
        for (r, c, v) in &merged {
            let _ = writeln!(s, "{r} {c} {}", number(*v));
        }
        sections.push(s);
    }
    if !b.is_empty() {
        let mut s = format!("BCOORD\n{}\n", b.len());
        for (r, v) in &b {
            let _ = writeln!(s, "{r} {}", number(*v));
        }
        sections.push(s);
    }
    out.push_str(&sections.join("\n"));
    out
}
