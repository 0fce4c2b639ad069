//! The CBF reader: text to a [`ConicProgram`], refusing what the IR cannot hold.

use crate::ir::{ConeKind, ConicProgram};

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

/// A CBF cone (variable or row domain) that cvxcnn reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    Free,
    NonNeg,
    NonPos,
    Zero,
    Soc,
    RotSoc,
    /// `EXP`: `u₀ ≥ u₁ e^{u₂/u₁}`, `u₁ > 0` — the IR's exponential cone with the entries reversed.
    Exp,
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
            "EXP" => Domain::Exp,
            "EXP*" | "SVECPSD" => return Err(unsupported(line, &format!("cone {tok}"))),
            _ if tok.starts_with('@') && (tok.ends_with(":POW") || tok.ends_with(":POW*")) => {
                return Err(unsupported(line, &format!("cone {tok}")));
            }
            _ => {
                return Err(perr(
                    line,
                    format!(
                        "unknown cone `{}` (expected F, L+, L-, L=, Q, QR or EXP)",
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
            Domain::Exp => 3,
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
            Domain::Exp => Some((ConeKind::Exponential, -1.0)),
        }
    }

    /// The IR row of entry `i` of a cone of this domain: `EXP` lists the IR's entries reversed.
    fn ir_offset(self, i: usize) -> usize {
        match self {
            Domain::Exp => 2 - i,
            _ => i,
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
             L-, L=, Q, QR, EXP; no integer variables, semidefinite, power or dual exponential \
             cones)"
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
        if domain == Domain::Exp && len != 3 {
            return Err(perr(
                line,
                format!(
                    "cone EXP of length {len} (an exponential cone has exactly 3 entries; write one `EXP 3` line per cone)"
                ),
            ));
        }
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
                row_map.extend((0..len).map(|i| Some((start + domain.ir_offset(i), s))));
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
                p.push(start + domain.ir_offset(i), col + i, s);
            }
        }
        col += len;
    }
    p.check()
        .map_err(|e| perr(eof, format!("inconsistent program: {e}")))?;
    Ok(p)
}
