//! Conic Benchmark Format (CBF, version 3) writer and reader.
//!
//! CBF states a problem as
//!
//! ```text
//! min/max  gᵀx + g₀   s.t.   a x + β ∈ K_con,   x ∈ K_var
//! ```
//! (`ACOORD`/`BCOORD` hold `a` and `β` of the rows, `OBJACOORD`/`OBJBCOORD` hold `g` and `g₀`), while
//! the IR states `min ½xᵀdiag(p)x + qᵀx + c  s.t.  Ax + s = b, s ∈ K`.
//!
//! **Writing.** An IR row `s = b − A x ∈ K` is the CBF row `a = −A`, `β = b` in the same cone:
//! zero → `L=`, nonnegative → `L+`, second-order → `Q` (`x₁ ≥ ‖x₂..‖`), rotated second-order → `QR`
//! (`2 x₁ x₂ ≥ ‖x₃..‖², x₁, x₂ ≥ 0`, the IR's own convention). CBF has no quadratic objective, so
//! when some `p_j > 0` the writer appends one variable `t` (after the program's own) with objective
//! coefficient 1 and one last `QR` block of rows `(t, 1, √p_j x_j for each p_j > 0)`:
//! `2·t·1 ≥ Σ p_j x_j²  ⇔  t ≥ ½xᵀdiag(p)x`, tight at the optimum. The constant goes in `OBJBCOORD`.
//! The file's optimal value therefore equals the program's, constant included.
//!
//! **Reading.** Continuous problems with the domains `F`, `L+`, `L-`, `L=`, `Q`, `QR` (for variables
//! and rows) are read; integer, semidefinite, power and exponential parts are refused with a
//! [`ParseError`]. `OBJSENSE MAX` negates the objective (the IR always minimizes), so the IR's
//! optimal value is then the *negative* of the file's.

use crate::ir::{ConeKind, ConicProgram};
use std::fmt::Write as _;

/// A parse error with its 1-based line number (one past the last line for a truncated file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the offending text; one past the last line when the file ends too early.
    pub line: usize,
    /// What was expected and what was found.
    pub message: String,
}

/// Largest number of variables or rows [`parse`] accepts from a file's `VAR`/`CON` header
/// (2²⁶ ≈ 67 million): the IR stores dense vectors of that length, and a few bytes of a file can
/// announce any size.
pub const MAX_DIMENSION: usize = 1 << 26;

/// Formats `v` so that parsing the text gives back exactly `v` (both of Rust's float formats are
/// shortest round-trip): plain decimal (`0.1`, `100`, `-0`) unless scientific notation is more than
/// two characters shorter (`1e300`, `1e-7`).
fn number(v: f64) -> String {
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
    let mut a: Vec<(usize, usize, f64)> = program
        .entries
        .iter()
        .map(|&(r, c, v)| (r, c, -v))
        .collect();
    let mut b: Vec<(usize, f64)> = program.b.iter().copied().enumerate().collect();
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

/// A CBF cone (variable or row domain) that cvxcnn reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    Free,
    NonNeg,
    NonPos,
    Zero,
    Soc,
    RotSoc,
}

impl Domain {
    fn parse(tok: &str, line: usize) -> Result<Self, ParseError> {
        Ok(match tok {
            "F" => Domain::Free,
            "L+" => Domain::NonNeg,
            "L-" => Domain::NonPos,
            "L=" => Domain::Zero,
            "Q" => Domain::Soc,
            "QR" => Domain::RotSoc,
            "EXP" | "EXP*" | "SVECPSD" => return Err(unsupported(line, &format!("cone {tok}"))),
            _ if tok.starts_with('@') && (tok.ends_with(":POW") || tok.ends_with(":POW*")) => {
                return Err(unsupported(line, &format!("cone {tok}")));
            }
            _ => {
                return Err(perr(
                    line,
                    format!(
                        "unknown cone `{}` (expected F, L+, L-, L=, Q or QR)",
                        clip(tok)
                    ),
                ));
            }
        })
    }

    fn min_len(self) -> usize {
        match self {
            Domain::Soc => 1,
            Domain::RotSoc => 2,
            _ => 0,
        }
    }

    /// The IR cone and the sign `σ` of a CBF row `a x + β ∈ K` written as IR rows `σ a x + s = −σ β`,
    /// i.e. `s = −σ (a x + β)`; `None` for a free row (no constraint).
    fn ir(self) -> Option<(ConeKind, f64)> {
        match self {
            Domain::Free => None,
            Domain::NonNeg => Some((ConeKind::Nonnegative, -1.0)),
            Domain::NonPos => Some((ConeKind::Nonnegative, 1.0)),
            Domain::Zero => Some((ConeKind::Zero, -1.0)),
            Domain::Soc => Some((ConeKind::SecondOrder, -1.0)),
            Domain::RotSoc => Some((ConeKind::RotatedSecondOrder, -1.0)),
        }
    }
}

/// A `VAR` or `CON` header: the size and its cones.
#[derive(Debug, Default)]
struct Space {
    size: usize,
    cones: Vec<(Domain, usize)>,
}

fn perr(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

fn unsupported(line: usize, what: &str) -> ParseError {
    perr(
        line,
        format!(
            "{what} is not supported: cvxcnn reads continuous conic problems only (domains F, L+, \
             L-, L=, Q, QR; no integer variables, semidefinite, power or exponential cones)"
        ),
    )
}

/// At most 40 characters of `s`, for messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Non-blank, non-comment lines with their 1-based numbers.
struct Cursor<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    eof_line: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            lines: text.lines().enumerate(),
            eof_line: text.lines().count() + 1,
        }
    }

    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        for (i, raw) in self.lines.by_ref() {
            let t = raw.trim();
            if !t.is_empty() && !t.starts_with('#') {
                return Some((i + 1, t));
            }
        }
        None
    }

    /// The next data line of `section` split into tokens; `expected` describes it for the error
    /// when the file ends first.
    fn data(
        &mut self,
        section: &str,
        expected: impl FnOnce() -> String,
    ) -> Result<(usize, Vec<&'a str>), ParseError> {
        match self.next_line() {
            Some((line, t)) => Ok((line, t.split_whitespace().collect())),
            None => Err(perr(
                self.eof_line,
                format!("the file ends inside {section}: expected {}", expected()),
            )),
        }
    }
}

/// Exactly `N` tokens, or an error saying what was expected.
fn fields<'a, const N: usize>(
    line: usize,
    toks: &[&'a str],
    expected: impl FnOnce() -> String,
) -> Result<[&'a str; N], ParseError> {
    <[&'a str; N]>::try_from(toks).map_err(|_| {
        perr(
            line,
            format!("expected {}, found `{}`", expected(), clip(&toks.join(" "))),
        )
    })
}

fn count(tok: &str, line: usize, what: &str) -> Result<usize, ParseError> {
    tok.parse::<usize>().map_err(|_| {
        perr(
            line,
            format!(
                "expected {what} (a nonnegative integer), found `{}`",
                clip(tok)
            ),
        )
    })
}

fn index(tok: &str, line: usize, what: &str, bound: usize) -> Result<usize, ParseError> {
    let i = count(tok, line, what)?;
    if i >= bound {
        return Err(perr(
            line,
            format!("{what} {i} out of range (the file declares {bound})"),
        ));
    }
    Ok(i)
}

fn value(tok: &str, line: usize) -> Result<f64, ParseError> {
    let v: f64 = tok
        .parse()
        .map_err(|_| perr(line, format!("expected a number, found `{}`", clip(tok))))?;
    if !v.is_finite() {
        return Err(perr(line, format!("number `{}` is not finite", clip(tok))));
    }
    Ok(v)
}

/// Reads the body of `VAR` or `CON`: `size cones`, then one `DOMAIN length` line per cone.
fn read_space(cur: &mut Cursor, section: &str, what: &str) -> Result<Space, ParseError> {
    let (head, toks) = cur.data(section, || format!("`number-of-{what} number-of-cones`"))?;
    let [size, k] = fields(head, &toks, || {
        format!("`number-of-{what} number-of-cones` after {section}")
    })?;
    let size = count(size, head, &format!("the number of {what}"))?;
    if size > MAX_DIMENSION {
        return Err(perr(
            head,
            format!("{size} {what} is more than cvxcnn reads ({MAX_DIMENSION})"),
        ));
    }
    let k = count(k, head, "the number of cones")?;
    let mut space = Space {
        size,
        cones: Vec::new(),
    };
    let mut total = 0usize;
    for i in 0..k {
        let expected = || format!("cone {} of {k} of {section} (`DOMAIN length`)", i + 1);
        let (line, toks) = cur.data(section, expected)?;
        let [kind, len] = fields(line, &toks, expected)?;
        let domain = Domain::parse(kind, line)?;
        let len = count(len, line, "a cone length")?;
        if len < domain.min_len() {
            return Err(perr(
                line,
                format!(
                    "cone {kind} of length {len} (needs at least {})",
                    domain.min_len()
                ),
            ));
        }
        total = total
            .checked_add(len)
            .filter(|&t| t <= size)
            .ok_or_else(|| {
                perr(
                    line,
                    format!("the cones of {section} cover more than the {size} {what} it declares"),
                )
            })?;
        space.cones.push((domain, len));
    }
    if total != size {
        return Err(perr(
            head,
            format!("{section} declares {size} {what} but its cones cover {total}"),
        ));
    }
    Ok(space)
}

/// The announced number of entries of a coordinate section.
fn read_len(cur: &mut Cursor, section: &str) -> Result<usize, ParseError> {
    let (line, toks) = cur.data(section, || "the number of entries".into())?;
    let [k] = fields(line, &toks, || {
        format!("the number of entries of {section}")
    })?;
    count(k, line, &format!("the number of entries of {section}"))
}

const UNSUPPORTED: &[&str] = &[
    "INT",
    "PSDVAR",
    "PSDCON",
    "OBJFCOORD",
    "FCOORD",
    "HCOORD",
    "DCOORD",
    "POWCONES",
    "POW*CONES",
    "CHANGE",
];

/// Parses a CBF file (versions 1 to 3) into the IR: one variable block `x` with the file's
/// variables in order, then one row block `con{k}` per non-free `CON` cone (in file order, free
/// rows dropped) and one `var{k}` per non-free `VAR` domain (rows `x ∈ K`, i.e. `−x + s = 0` for
/// `L+`/`Q`/`QR`, `x + s = 0, s ≥ 0` for `L-`, `x = 0` for `L=`). A row `a x + β` in `L+`/`L=`/`Q`/`QR`
/// becomes `A = −a, b = β`; in `L-` it becomes `A = a, b = −β`. With `OBJSENSE MIN` the objective is
/// `q = g`, `constant = g₀`; with `MAX` it is `q = −g`, `constant = −g₀`, so the IR's optimal value
/// is the negative of the file's. Repeated coordinates add up.
///
/// Comment (`#`) and blank lines may appear anywhere. `VER` comes first; `OBJSENSE`, `VAR`, `CON`
/// come before the coordinate sections (`OBJACOORD`, `OBJBCOORD`, `ACOORD`, `BCOORD`); each section
/// appears at most once; `OBJSENSE` is required. Every malformed input (order, counts, indices,
/// numbers, non-finite values, unsupported parts, truncation, sizes above [`MAX_DIMENSION`]) gives
/// a [`ParseError`], never a panic; the result passes [`ConicProgram::check`].
pub fn parse(text: &str) -> Result<ConicProgram, ParseError> {
    let mut cur = Cursor::new(text);
    let mut seen: Vec<&str> = Vec::new();
    let mut version: Option<usize> = None;
    let mut maximize: Option<bool> = None;
    let mut vars = Space::default();
    let mut cons = Space::default();
    let mut data_started = false;
    let mut g: Vec<(usize, f64)> = Vec::new();
    let mut g0 = 0.0;
    let mut a: Vec<(usize, usize, f64)> = Vec::new();
    let mut beta: Vec<(usize, f64)> = Vec::new();

    while let Some((line, kw)) = cur.next_line() {
        let keyword_like =
            !kw.contains(char::is_whitespace) && kw.starts_with(|c: char| c.is_ascii_uppercase());
        if !keyword_like {
            return Err(perr(
                line,
                format!(
                    "expected a section keyword, found `{}` (does the previous section have more \
                     lines than it announces?)",
                    clip(kw)
                ),
            ));
        }
        if version.is_none() && kw != "VER" {
            return Err(perr(
                line,
                format!("a CBF file starts with VER, found `{}`", clip(kw)),
            ));
        }
        let structure = matches!(kw, "OBJSENSE" | "VAR" | "CON");
        let data = matches!(kw, "OBJACOORD" | "OBJBCOORD" | "ACOORD" | "BCOORD");
        if UNSUPPORTED.contains(&kw) {
            return Err(unsupported(line, &format!("section {kw}")));
        }
        if !structure && !data && kw != "VER" {
            return Err(perr(
                line,
                format!(
                    "unknown keyword `{}` (expected VER, OBJSENSE, VAR, CON, OBJACOORD, \
                     OBJBCOORD, ACOORD or BCOORD)",
                    clip(kw)
                ),
            ));
        }
        if seen.contains(&kw) {
            return Err(perr(line, format!("section {kw} appears twice")));
        }
        if structure && data_started {
            return Err(perr(
                line,
                format!("{kw} after the coordinates: OBJSENSE, VAR and CON come before them"),
            ));
        }
        if data {
            if maximize.is_none() {
                return Err(perr(line, format!("OBJSENSE must come before {kw}")));
            }
            data_started = true;
        }
        seen.push(kw);
        match kw {
            "VER" => {
                let (l, toks) = cur.data("VER", || "the format version".into())?;
                let [v] = fields(l, &toks, || "the format version".into())?;
                let v = count(v, l, "the format version")?;
                if !(1..=3).contains(&v) {
                    return Err(perr(
                        l,
                        format!("CBF version {v} is not supported (cvxcnn reads versions 1 to 3)"),
                    ));
                }
                version = Some(v);
            }
            "OBJSENSE" => {
                let (l, toks) = cur.data("OBJSENSE", || "MIN or MAX".into())?;
                maximize = Some(match fields(l, &toks, || "MIN or MAX".into())? {
                    ["MIN"] => false,
                    ["MAX"] => true,
                    [other] => {
                        return Err(perr(
                            l,
                            format!("expected MIN or MAX, found `{}`", clip(other)),
                        ));
                    }
                });
            }
            "VAR" => vars = read_space(&mut cur, "VAR", "variables")?,
            "CON" => cons = read_space(&mut cur, "CON", "rows")?,
            "OBJACOORD" => {
                let k = read_len(&mut cur, kw)?;
                for i in 0..k {
                    let expected = || format!("entry {} of {k} (`variable value`)", i + 1);
                    let (l, toks) = cur.data(kw, expected)?;
                    let [j, v] = fields(l, &toks, expected)?;
                    g.push((index(j, l, "variable", vars.size)?, value(v, l)?));
                }
            }
            "OBJBCOORD" => {
                let (l, toks) = cur.data(kw, || "the objective constant".into())?;
                let [v] = fields(l, &toks, || "the objective constant".into())?;
                g0 = value(v, l)?;
            }
            "ACOORD" => {
                let k = read_len(&mut cur, kw)?;
                for i in 0..k {
                    let expected = || format!("entry {} of {k} (`row variable value`)", i + 1);
                    let (l, toks) = cur.data(kw, expected)?;
                    let [r, j, v] = fields(l, &toks, expected)?;
                    let r = index(r, l, "row", cons.size)?;
                    let j = index(j, l, "variable", vars.size)?;
                    a.push((r, j, value(v, l)?));
                }
            }
            "BCOORD" => {
                let k = read_len(&mut cur, kw)?;
                for i in 0..k {
                    let expected = || format!("entry {} of {k} (`row value`)", i + 1);
                    let (l, toks) = cur.data(kw, expected)?;
                    let [r, v] = fields(l, &toks, expected)?;
                    beta.push((index(r, l, "row", cons.size)?, value(v, l)?));
                }
            }
            _ => unreachable!("every other keyword was refused above"),
        }
    }
    let eof = cur.eof_line;
    if version.is_none() {
        return Err(perr(eof, "no VER section: this is not a CBF file"));
    }
    let maximize = maximize.ok_or_else(|| perr(eof, "no OBJSENSE section"))?;

    let sign = if maximize { -1.0 } else { 1.0 };
    let mut p = ConicProgram::new();
    p.add_vars("x", vars.size);
    for (j, v) in g {
        p.q[j] += sign * v;
    }
    p.constant = sign * g0;
    // CBF row → (IR row, σ).
    let mut row_map: Vec<Option<(usize, f64)>> = Vec::with_capacity(cons.size);
    for (k, &(domain, len)) in cons.cones.iter().enumerate() {
        match domain.ir() {
            None => row_map.extend(std::iter::repeat_n(None, len)),
            Some((cone, s)) => {
                let start = p.add_rows(&format!("con{k}"), cone, len);
                row_map.extend((start..start + len).map(|r| Some((r, s))));
            }
        }
    }
    for (r, j, v) in a {
        if let Some(&Some((row, s))) = row_map.get(r) {
            p.push(row, j, s * v);
        }
    }
    for (r, v) in beta {
        if let Some(&Some((row, s))) = row_map.get(r) {
            p.b[row] -= s * v;
        }
    }
    let mut col = 0;
    for (k, &(domain, len)) in vars.cones.iter().enumerate() {
        if let Some((cone, s)) = domain.ir() {
            let start = p.add_rows(&format!("var{k}"), cone, len);
            for i in 0..len {
                p.push(start + i, col + i, s);
            }
        }
        col += len;
    }
    p.check()
        .map_err(|e| perr(eof, format!("inconsistent program: {e}")))?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Status;
    use crate::backend::clarabel::{ClarabelSettings, solve};

    /// The line of the error `parse` gives for `text`, after checking its message holds `needle`.
    fn error_at(text: &str, needle: &str) -> usize {
        let e = parse(text).expect_err("should be refused");
        assert!(
            e.message.contains(needle),
            "message `{}` lacks `{needle}`",
            e.message
        );
        e.line
    }

    const HEAD: &str = "VER\n3\nOBJSENSE\nMIN\n";

    #[test]
    fn numbers_round_trip_exactly() {
        let values = [
            1e-300,
            0.1,
            1.0 / 3.0,
            -0.0,
            0.0,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            2f64.sqrt(),
            100.0,
            1e6,
            1e-7,
            -2.5,
            123456789.125,
            1e21,
            1e22,
        ];
        for v in values {
            let s = number(v);
            let back: f64 = s.parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v:e} printed as {s}");
            assert!(s.len() <= 24, "{v:e} printed long: {s}");
        }
        assert_eq!(number(1e300), "1e300");
        assert_eq!(number(1e-300), "1e-300");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(1.0), "1");
    }

    #[test]
    fn awkward_values_survive_write_and_parse() {
        let vals = [1e-300, 0.1, 1.0 / 3.0, 1e300, -7.25];
        let mut p = ConicProgram::new();
        p.add_vars("x", vals.len());
        let r = p.add_rows("r", ConeKind::Nonnegative, vals.len());
        for (i, &v) in vals.iter().enumerate() {
            p.q[i] = v;
            p.b[r + i] = v;
            p.push(r + i, i, v);
        }
        p.constant = 1.0 / 3.0;
        let back = parse(&write(&p)).unwrap();
        assert_eq!(back.q, p.q);
        assert_eq!(back.b, p.b);
        assert_eq!(back.constant, p.constant);
        let mut e = back.entries.clone();
        e.sort_by_key(|&(r, c, _)| (r, c));
        assert_eq!(e, p.entries);
    }

    #[test]
    fn writer_sums_duplicates_sorts_and_drops_zeros() {
        let mut p = ConicProgram::new();
        p.add_vars("x", 2);
        p.add_rows("z", ConeKind::Zero, 1);
        p.add_rows("z2", ConeKind::Zero, 1);
        p.add_rows("n", ConeKind::Nonnegative, 2);
        p.entries = vec![
            (3, 1, 2.0),
            (0, 1, 1.0),
            (0, 0, 1.5),
            (0, 1, 0.5),
            (2, 0, 1.0),
        ];
        p.entries.push((2, 0, -1.0)); // cancels to an exact zero
        let text = write(&p);
        assert!(text.contains("CON\n4 2\nL= 2\nL+ 2\n"), "{text}");
        assert!(
            text.contains("ACOORD\n3\n0 0 -1.5\n0 1 -1.5\n3 1 -2\n"),
            "{text}"
        );
        assert!(!text.contains("BCOORD"));
        assert!(!text.contains("OBJBCOORD"));
        assert_eq!(write(&p), text);
    }

    /// A file in the style of the CBF specification's examples, with `L-`, `L=`, `F`, `QR` variable
    /// domains, `F`, `L+`, `L-`, `L=`, `Q`, `QR` rows and `OBJSENSE MAX`.
    const HAND: &str = "\
# maximize x0 + 5 x1 + x2 + x3 - x4 + x6 + x7 + x8 + x9 - x10 + 10
VER
3

OBJSENSE
MAX

VAR
11 6
L- 1
L= 1
F 2
QR 3
F 3
L+ 1

CON
11 6
F 1
L+ 1
L- 1
L= 2
Q 3
QR 3

OBJACOORD
10
0 1
1 5
2 1
3 1
4 -1
6 1
7 1
8 1
9 1
10 -1

OBJBCOORD
10

ACOORD
9
0 2 -1
1 0 1
2 7 1
3 5 1
4 8 1
6 2 1
7 3 1
8 10 1
10 9 1

BCOORD
7
0 -100
1 3
2 -2
3 -1
4 -3
5 2
9 2
";

    #[test]
    fn reads_a_hand_written_file() {
        // Rows: 0 F (−x2 − 100, ignored: infeasible if it were enforced), 1 L+ (x0 + 3 ≥ 0),
        // 2 L- (x7 ≤ 2), 3-4 L= (x5 = 1, x8 = 3), 5-7 Q (‖(x2, x3)‖ ≤ 2), 8-10 QR
        // (2·x10·2 ≥ x9²). Domains: x0 ≤ 0, x1 = 0, (x4, x5, x6) ∈ QR, x10 ≥ 0.
        // Maximum: x0 = 0, x1 = 0, x2 + x3 = 2√2, max x6 − x6²/2 = ½ (x4 = x6²/2 as x5 = 1),
        // x7 = 2, x8 = 3, max x9 − x9²/4 = 1, + 10: 16.5 + 2√2. The IR minimizes the negative.
        let p = parse(HAND).unwrap();
        assert_eq!(p.n_vars(), 11);
        // 10 constrained CBF rows + 1 (L-) + 1 (L=) + 3 (QR) + 1 (L+) domain rows.
        assert_eq!(p.n_rows(), 16);
        assert_eq!(p.constant, -10.0);
        let kinds: Vec<ConeKind> = p.row_blocks.iter().map(|b| b.cone).collect();
        use ConeKind::*;
        assert_eq!(
            kinds,
            [
                Nonnegative,
                Nonnegative,
                Zero,
                SecondOrder,
                RotatedSecondOrder,
                Nonnegative,
                Zero,
                RotatedSecondOrder,
                Nonnegative
            ]
        );
        let sol = solve(&p, &ClarabelSettings::default()).unwrap();
        assert_eq!(sol.status, Status::Optimal);
        let expected = -(16.5 + 2.0 * 2f64.sqrt());
        assert!(
            (sol.primal_objective - expected).abs() < 1e-7,
            "{} vs {expected}",
            sol.primal_objective
        );
        let x = &sol.x;
        assert!(x[0].abs() < 1e-6 && x[1].abs() < 1e-6);
        assert!((x[7] - 2.0).abs() < 1e-6 && (x[8] - 3.0).abs() < 1e-6);
        assert!(p.max_violation(x) < 1e-7);
    }

    #[test]
    fn comments_blank_lines_crlf_and_old_versions() {
        let text = "# c\r\n\r\nVER\r\n  # c\r\n1\r\nOBJSENSE\r\n\r\nMIN\r\nVAR\r\n1 1\r\nL+ 1\r\n\
                    OBJACOORD\r\n1\r\n  0   2.5e0  \r\n# end\r\n";
        let p = parse(text).unwrap();
        assert_eq!(p.q, [2.5]);
        assert_eq!(p.entries, [(0, 0, -1.0)]);
        assert_eq!(p.row_blocks[0].cone, ConeKind::Nonnegative);
        // A minimal file: no variables, no rows.
        let p = parse(HEAD).unwrap();
        assert_eq!((p.n_vars(), p.n_rows()), (0, 0));
    }

    #[test]
    fn each_error_class_names_its_line() {
        // Order.
        assert_eq!(error_at("OBJSENSE\nMIN\nVER\n3\n", "starts with VER"), 1);
        assert_eq!(error_at("# c\n\nVAR\n0 0\n", "starts with VER"), 3);
        let late = format!("{HEAD}VAR\n1 1\nF 1\nOBJACOORD\n1\n0 1\nCON\n1 1\nL+ 1\n");
        assert_eq!(error_at(&late, "after the coordinates"), 11);
        assert_eq!(
            error_at("VER\n3\nACOORD\n0\n", "OBJSENSE must come before"),
            3
        );
        // Duplicates.
        assert_eq!(error_at(&format!("{HEAD}OBJSENSE\nMAX\n"), "twice"), 5);
        assert_eq!(error_at("VER\n3\nVER\n3\n", "twice"), 3);
        // Counts.
        let few = format!("{HEAD}VAR\n2 1\nF 2\nOBJACOORD\n3\n0 1\n1 1\nBCOORD\n0\n");
        assert_eq!(error_at(&few, "entry 3 of 3"), 12);
        let many = format!("{HEAD}VAR\n2 1\nF 2\nOBJACOORD\n1\n0 1\n1 1\n");
        assert_eq!(error_at(&many, "more lines than it announces"), 11);
        let over = format!("{HEAD}VAR\n2 2\nF 2\nL+ 1\n");
        assert_eq!(error_at(&over, "cover more than"), 8);
        let under = format!("{HEAD}VAR\n3 1\nF 2\n");
        assert_eq!(error_at(&under, "cones cover 2"), 6);
        let cones_short = format!("{HEAD}VAR\n3 2\nF 2\nOBJACOORD\n0\n");
        assert_eq!(error_at(&cones_short, "cone 2 of 2"), 8);
        assert_eq!(
            error_at(&format!("{HEAD}CON\n1 1\nQR 1\n"), "at least 2"),
            7
        );
        assert_eq!(error_at(&format!("{HEAD}CON\n0 1\nQ 0\n"), "at least 1"), 7);
        assert_eq!(
            error_at(&format!("{HEAD}VAR\n1 1 1\nF 1\n"), "number-of-variables"),
            6
        );
        // Indices.
        let base = format!("{HEAD}VAR\n2 1\nF 2\nCON\n1 1\nL+ 1\n");
        assert_eq!(
            error_at(&format!("{base}ACOORD\n1\n1 0 1\n"), "row 1 out of range"),
            13
        );
        assert_eq!(
            error_at(&format!("{base}ACOORD\n1\n0 2 1\n"), "variable 2 out"),
            13
        );
        assert_eq!(
            error_at(&format!("{base}BCOORD\n2\n0 1\n5 1\n"), "row 5"),
            14
        );
        assert_eq!(
            error_at(
                &format!("{base}OBJACOORD\n1\n-1 1\n"),
                "nonnegative integer"
            ),
            13
        );
        assert_eq!(
            error_at(&format!("{HEAD}OBJACOORD\n1\n0 1\n"), "declares 0"),
            7
        );
        // Numbers.
        assert_eq!(
            error_at(&format!("{base}BCOORD\n1\n0 abc\n"), "expected a number"),
            13
        );
        for bad in ["inf", "-inf", "NaN", "1e400"] {
            let text = format!("{base}BCOORD\n1\n0 {bad}\n");
            assert_eq!(error_at(&text, "not finite"), 13, "{bad}");
        }
        assert_eq!(
            error_at(&format!("{base}OBJBCOORD\nNaN\n"), "not finite"),
            12
        );
        assert_eq!(
            error_at(&format!("{HEAD}VAR\nx 1\n"), "nonnegative integer"),
            6
        );
        assert_eq!(error_at("VER\nthree\n", "format version"), 2);
        assert_eq!(error_at("VER\n4\n", "version 4"), 2);
        assert_eq!(error_at("VER\n3\nOBJSENSE\nMINIMIZE\n", "MIN or MAX"), 4);
        // Sizes a few bytes can announce.
        let huge = format!("{HEAD}VAR\n99999999999 1\nF 99999999999\n");
        assert_eq!(error_at(&huge, "more than cvxcnn reads"), 6);
        let overflow = format!("{HEAD}VAR\n18446744073709551616 1\n");
        assert_eq!(error_at(&overflow, "nonnegative integer"), 6);
        let wrap = format!("{HEAD}VAR\n2 2\nF 18446744073709551615\nF 3\n");
        assert_eq!(error_at(&wrap, "cover more than"), 7);
        let many_cones = format!("{HEAD}VAR\n0 18446744073709551615\n");
        assert_eq!(error_at(&many_cones, "ends inside VAR"), 7);
        // Truncation.
        assert_eq!(error_at("VER\n", "ends inside VER"), 2);
        assert_eq!(error_at("VER\n3\nOBJSENSE", "ends inside OBJSENSE"), 4);
        let cut = format!("{base}ACOORD\n2\n0 0 1\n");
        assert_eq!(error_at(&cut, "entry 2 of 2"), 14);
        assert_eq!(error_at("VER\n3\n", "no OBJSENSE"), 3);
        assert_eq!(error_at("", "no VER"), 1);
        assert_eq!(error_at("# only a comment\n\n", "no VER"), 3);
        // Unknown things.
        assert_eq!(error_at(&format!("{HEAD}FOO\n"), "unknown keyword"), 5);
        assert_eq!(
            error_at(&format!("{HEAD}CON\n1 1\nL* 1\n"), "unknown cone"),
            7
        );
    }

    #[test]
    fn refuses_what_is_not_continuous_conic() {
        for kw in [
            "INT",
            "PSDVAR",
            "PSDCON",
            "HCOORD",
            "DCOORD",
            "FCOORD",
            "OBJFCOORD",
            "POWCONES",
            "POW*CONES",
            "CHANGE",
        ] {
            let text = format!("{HEAD}VAR\n1 1\nF 1\n{kw}\n1\n");
            assert_eq!(error_at(&text, "continuous conic problems only"), 8, "{kw}");
        }
        for cone in ["EXP", "EXP*", "@0:POW", "@1:POW*", "SVECPSD"] {
            let text = format!("{HEAD}CON\n3 1\n{cone} 3\n");
            assert_eq!(
                error_at(&text, "continuous conic problems only"),
                7,
                "{cone}"
            );
            let text = format!("{HEAD}VAR\n3 1\n{cone} 3\n");
            assert_eq!(
                error_at(&text, "continuous conic problems only"),
                7,
                "{cone}"
            );
        }
    }

    #[test]
    fn display_names_the_line() {
        let e = parse("VER\n9\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2: "), "{e}");
    }

    #[test]
    fn write_of_parse_of_write_is_a_fixpoint() {
        let mut p = ConicProgram::new();
        p.add_vars("x", 3);
        p.p_diag = vec![2.0, 0.0, 0.5];
        p.q = vec![1.0, -1.0, 0.0];
        p.constant = -0.25;
        let r = p.add_rows("z", ConeKind::Zero, 1);
        p.push(r, 0, 1.0);
        p.push(r, 1, 1.0);
        p.b[r] = 1.0;
        let r = p.add_rows("q", ConeKind::SecondOrder, 3);
        p.b[r] = 4.0;
        p.push(r + 1, 0, -1.0);
        p.push(r + 2, 2, -3.0);
        let r = p.add_rows("rq", ConeKind::RotatedSecondOrder, 3);
        p.b[r] = 1.0;
        p.b[r + 1] = 1.0;
        p.push(r + 2, 1, 1.0);
        let text = write(&p);
        let back = parse(&text).unwrap();
        assert_eq!(back.n_vars(), 4);
        assert_eq!(back.p_diag, [0.0; 4]);
        // The body (after the header comments) is reproduced byte for byte.
        let body = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(body(&write(&back)), body(&text));
    }
}
