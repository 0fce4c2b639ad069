//! Free MPS with a `QUADOBJ` section: writer and reader.
//!
//! MPS holds `min/max ½xᵀQx + cᵀx + constant` over linear rows `lo ≤ aᵢᵀx ≤ hi` and bounds
//! `l ≤ x ≤ u`. The IR ([`ConicProgram`]) holds `min ½xᵀdiag(p)x + qᵀx + constant` subject to
//! `Ax + s = b, s ∈ K`, with free variables. The mapping, both ways:
//!
//! | IR                                   | MPS                                              |
//! |--------------------------------------|--------------------------------------------------|
//! | zero-cone row `aᵀx + s = b, s = 0`   | `E` row, `aᵀx = b`                               |
//! | nonnegative row `aᵀx + s = b, s ≥ 0` | `L` row, `aᵀx ≤ b`                               |
//! | `G` row `aᵀx ≥ r` (reader only)      | nonnegative row `−aᵀx + s = −r`                  |
//! | `p_j`                                | `QUADOBJ` diagonal entry `xj xj p_j` (`½xᵀQx`)   |
//! | `constant`                           | `RHS` of the objective row, **negated**          |
//! | free variable                        | `FR` bound                                       |
//! | bound `x ≥ l` / `x ≤ u` (reader)     | nonnegative row `−x + s = −l` / `x + s = u`      |
//! | bound `x = v` (`FX`, reader)         | zero-cone row `x + s = v`                        |
//!
//! **The objective constant.** MPS has no field for it; by the common convention (HiGHS's, which
//! was checked; most other readers document the same), the right-hand side `r` given to the
//! objective row means the objective is `cᵀx − r` (think of moving `r` across: `cᵀx − obj = −r`). So the writer puts `RHS obj −constant`
//! and the reader sets `constant = −RHS(obj)`. This was checked against HiGHS 1.16 (`highspy`):
//! `min 2x² + x` with `x = 1` fixed and `RHS obj 2.5` reports objective `0.5 = 3 − 2.5` and
//! `offset_ = −2.5`. (HiGHS picks the reader by file extension: write files as `*.mps`.)
//!
//! **The quadratic term.** `QUADOBJ` lists the lower triangle of `Q` and `QMATRIX` (and CPLEX's
//! `QSECTION` of the objective row) all of it, for the objective `½xᵀQx`; a diagonal entry is `Q_jj`
//! in both, i.e. exactly the IR's `p_j`. Off-diagonal entries cannot be held by the IR and are refused.
//!
//! The reader accepts free MPS and fixed MPS whose names contain no blanks (fields are split at
//! whitespace). It follows the usual conventions of current readers (HiGHS's in particular):
//! default bounds `0 ≤ x < ∞`, which `UP` leaves alone even when negative (as HiGHS 1.16 does;
//! some older readers then drop the lower bound); bound and range magnitudes `≥ 1e20` mean infinity; `RANGES` as in the
//! MPS standard; the first `N` row is the objective and later `N` rows are ignored. Integer markers,
//! integer or semicontinuous bounds, off-diagonal quadratic entries, quadratic constraints and
//! several `RHS`/`RANGES`/`BOUNDS` sets are refused with a message naming the line.

use crate::ir::{ConeKind, ConicProgram};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// A parse error with its 1-based line number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the offending text (the line after the last one for a truncated file).
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

/// Why a program cannot be written as MPS.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// The first row block whose cone MPS cannot hold (second-order or rotated second-order).
    #[error(
        "row block {block} is a {cone} cone; MPS holds linear constraints and a quadratic \
         objective only; use --format cbf"
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

/// Magnitude from which bounds and ranges read from a file count as infinite (HiGHS's and
/// Clarabel's default `infinite_bound`).
const INFINITE_BOUND: f64 = 1e20;

/// Shortest text that parses back to exactly `v` (finite `v`): Rust's shortest round-trip digits,
/// in plain or scientific notation, whichever is shorter (plain on a tie).
fn fmt_num(v: f64) -> String {
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
        if matches!(
            blk.cone,
            ConeKind::SecondOrder | ConeKind::RotatedSecondOrder
        ) {
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

/// Parses free (and blank-free fixed) MPS with QUADOBJ/QMATRIX into the IR.
///
/// The result has one variable block `x` (columns in file order) and row blocks in this order:
/// one primary row per constraint row of the file, in file order (runs of the same cone share a
/// block named after their first and last MPS row), then `ranges` (the second side of ranged
/// rows), `lower_bounds`, `upper_bounds` and `fixed_bounds`. `OBJSENSE MAX` negates the objective
/// (linear, quadratic and constant). The program passes [`ConicProgram::check`].
pub fn parse(text: &str) -> Result<ConicProgram, ParseError> {
    let mut reader = Reader::default();
    let mut n_lines = 0;
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        n_lines = line;
        if raw.starts_with('*') || raw.trim().is_empty() {
            continue;
        }
        let tokens: Vec<&str> = raw.split_whitespace().collect();
        if raw.starts_with(|c: char| c.is_whitespace()) {
            reader.data(line, &tokens)?;
        } else if reader.header(line, &tokens)? {
            return reader.finish(line);
        }
    }
    Err(err(
        n_lines + 1,
        "end of file before ENDATA (truncated file?)".into(),
    ))
}

fn err(line: usize, message: String) -> ParseError {
    ParseError { line, message }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Section {
    Name,
    ObjSense,
    Rows,
    Columns,
    Rhs,
    Ranges,
    Bounds,
    Quad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RowRef {
    Objective,
    /// A further `N` row: ignored.
    Free,
    Con(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sense {
    E,
    L,
    G,
}

#[derive(Debug)]
struct Row {
    name: String,
    sense: Sense,
    rhs: f64,
    range: Option<f64>,
}

#[derive(Debug)]
struct Col {
    name: String,
    obj: f64,
    lower: f64,
    upper: f64,
    quad: f64,
    quad_line: usize,
}

#[derive(Debug, Default)]
struct Reader {
    section: Option<Section>,
    seen: HashSet<Section>,
    maximize: bool,
    sense_given: bool,
    row_names: HashMap<String, (RowRef, usize)>,
    rows: Vec<Row>,
    objective_name: Option<String>,
    col_names: HashMap<String, (usize, usize)>,
    cols: Vec<Col>,
    /// `(constraint row, column, value)`, zeros dropped.
    entries: Vec<(usize, usize, f64)>,
    current_col: Option<usize>,
    current_rows: HashSet<RowRef>,
    obj_rhs: f64,
    rhs_seen: HashSet<RowRef>,
    range_seen: HashSet<usize>,
    quad_seen: HashSet<usize>,
    rhs_set: Option<String>,
    range_set: Option<String>,
    bound_set: Option<String>,
}

fn number(line: usize, tok: &str, what: &str) -> Result<f64, ParseError> {
    let v: f64 = tok
        .parse()
        .map_err(|_| err(line, format!("expected a number for {what}, found {tok:?}")))?;
    if !v.is_finite() {
        return Err(err(
            line,
            format!("{what} is {tok:?}, which is not a finite number"),
        ));
    }
    Ok(v)
}

fn section_name(s: Section) -> &'static str {
    match s {
        Section::Name => "NAME",
        Section::ObjSense => "OBJSENSE",
        Section::Rows => "ROWS",
        Section::Columns => "COLUMNS",
        Section::Rhs => "RHS",
        Section::Ranges => "RANGES",
        Section::Bounds => "BOUNDS",
        Section::Quad => "QUADOBJ/QMATRIX",
    }
}

fn sense_word(line: usize, tok: &str) -> Result<bool, ParseError> {
    match tok.to_ascii_uppercase().as_str() {
        "MAX" | "MAXIMIZE" => Ok(true),
        "MIN" | "MINIMIZE" => Ok(false),
        _ => Err(err(
            line,
            format!("OBJSENSE must be MIN or MAX, found {tok:?}"),
        )),
    }
}

impl Reader {
    /// Handles a section header; `Ok(true)` at `ENDATA`.
    fn header(&mut self, line: usize, tokens: &[&str]) -> Result<bool, ParseError> {
        let kw = tokens[0].to_ascii_uppercase();
        let (section, max_tokens) = match kw.as_str() {
            "ENDATA" => return Ok(true),
            "NAME" => (Section::Name, usize::MAX),
            "OBJSENSE" => (Section::ObjSense, 2),
            "ROWS" => (Section::Rows, 1),
            "COLUMNS" => (Section::Columns, 1),
            "RHS" => (Section::Rhs, 1),
            "RANGES" => (Section::Ranges, 1),
            "BOUNDS" => (Section::Bounds, 1),
            "QUADOBJ" | "QMATRIX" => (Section::Quad, 1),
            "QSECTION" => (Section::Quad, 2),
            "QCMATRIX" | "CSECTION" => {
                return Err(err(
                    line,
                    format!(
                        "section {kw} holds quadratic or conic constraints, which this reader \
                         does not support (MPS here means linear rows and a quadratic objective)"
                    ),
                ));
            }
            "SOS" | "INDICATORS" | "GENERAL" | "GENERALS" | "INTEGER" | "BINARY" | "SEMICONT" => {
                return Err(err(
                    line,
                    format!(
                        "section {kw} declares integer or combinatorial structure; cvxcnn reads \
                         continuous programs only"
                    ),
                ));
            }
            _ => {
                return Err(err(line, format!("unknown section {:?}", tokens[0])));
            }
        };
        if tokens.len() > max_tokens {
            return Err(err(
                line,
                format!("unexpected text after section header {kw}"),
            ));
        }
        if !self.seen.insert(section) {
            return Err(err(
                line,
                format!("section {} appears twice", section_name(section)),
            ));
        }
        match kw.as_str() {
            "OBJSENSE" if tokens.len() == 2 => {
                self.maximize = sense_word(line, tokens[1])?;
                self.sense_given = true;
            }
            "QSECTION" => {
                let target = tokens.get(1).copied().unwrap_or("");
                if self.objective_name.as_deref() != Some(target) {
                    return Err(err(
                        line,
                        format!(
                            "QSECTION {target:?} is not the objective row; quadratic constraints \
                             are not supported"
                        ),
                    ));
                }
            }
            _ => {}
        }
        if section == Section::Columns {
            self.current_col = None;
        }
        self.section = Some(section);
        Ok(false)
    }

    fn data(&mut self, line: usize, t: &[&str]) -> Result<(), ParseError> {
        match self.section {
            None => Err(err(line, "data line before any section header".into())),
            Some(Section::Name) => {
                Err(err(line, "unexpected data line in the NAME section".into()))
            }
            Some(Section::ObjSense) => {
                if t.len() != 1 || self.sense_given {
                    return Err(err(line, "OBJSENSE takes one word, MIN or MAX".into()));
                }
                self.maximize = sense_word(line, t[0])?;
                self.sense_given = true;
                Ok(())
            }
            Some(Section::Rows) => self.row(line, t),
            Some(Section::Columns) => self.column(line, t),
            Some(Section::Rhs) => self.rhs(line, t, false),
            Some(Section::Ranges) => self.rhs(line, t, true),
            Some(Section::Bounds) => self.bound(line, t),
            Some(Section::Quad) => self.quad(line, t),
        }
    }

    fn row(&mut self, line: usize, t: &[&str]) -> Result<(), ParseError> {
        if t.len() != 2 {
            return Err(err(
                line,
                format!(
                    "a ROWS line is a type (N, E, L, G) and a name; found {} fields",
                    t.len()
                ),
            ));
        }
        let name = t[1];
        if let Some(&(_, first)) = self.row_names.get(name) {
            return Err(err(
                line,
                format!("row {name} declared twice (first on line {first})"),
            ));
        }
        let sense = match t[0].to_ascii_uppercase().as_str() {
            "N" => None,
            "E" => Some(Sense::E),
            "L" => Some(Sense::L),
            "G" => Some(Sense::G),
            other => {
                return Err(err(
                    line,
                    format!("unknown row type {other:?} (expected N, E, L or G)"),
                ));
            }
        };
        let r = match sense {
            None if self.objective_name.is_none() => {
                self.objective_name = Some(name.into());
                RowRef::Objective
            }
            None => RowRef::Free,
            Some(sense) => {
                self.rows.push(Row {
                    name: name.into(),
                    sense,
                    rhs: 0.0,
                    range: None,
                });
                RowRef::Con(self.rows.len() - 1)
            }
        };
        self.row_names.insert(name.into(), (r, line));
        Ok(())
    }

    fn row_ref(&self, line: usize, name: &str) -> Result<RowRef, ParseError> {
        self.row_names
            .get(name)
            .map(|&(r, _)| r)
            .ok_or_else(|| err(line, format!("row {name} is not declared in ROWS")))
    }

    fn col_ref(&self, line: usize, name: &str) -> Result<usize, ParseError> {
        self.col_names
            .get(name)
            .map(|&(c, _)| c)
            .ok_or_else(|| err(line, format!("column {name} is not declared in COLUMNS")))
    }

    fn column(&mut self, line: usize, t: &[&str]) -> Result<(), ParseError> {
        if t.iter().any(|s| s.eq_ignore_ascii_case("'MARKER'")) {
            return Err(err(
                line,
                "integer MARKER blocks are not supported; cvxcnn reads continuous programs only"
                    .into(),
            ));
        }
        match t.len() {
            3 | 5 => {}
            2 | 4 => return Err(err(line, "missing value after a row name".into())),
            k => {
                return Err(err(
                    line,
                    format!(
                        "a COLUMNS line is a column name and one or two (row, value) pairs; \
                         found {k} fields"
                    ),
                ));
            }
        }
        let name = t[0];
        let j = match self.col_names.get(name) {
            Some(&(j, _)) if self.current_col == Some(j) => j,
            Some(&(_, first)) => {
                return Err(err(
                    line,
                    format!(
                        "column {name} appears again (first on line {first}); a column's \
                         entries must be contiguous"
                    ),
                ));
            }
            None => {
                self.cols.push(Col {
                    name: name.into(),
                    obj: 0.0,
                    lower: 0.0,
                    upper: f64::INFINITY,
                    quad: 0.0,
                    quad_line: 0,
                });
                let j = self.cols.len() - 1;
                self.col_names.insert(name.into(), (j, line));
                self.current_col = Some(j);
                self.current_rows.clear();
                j
            }
        };
        for pair in t[1..].chunks(2) {
            let r = self.row_ref(line, pair[0])?;
            let v = number(line, pair[1], &format!("entry ({}, {name})", pair[0]))?;
            if !self.current_rows.insert(r) {
                return Err(err(
                    line,
                    format!("second entry for row {} in column {name}", pair[0]),
                ));
            }
            match r {
                RowRef::Objective => self.cols[j].obj = v,
                RowRef::Free => {}
                RowRef::Con(i) => {
                    if v != 0.0 {
                        self.entries.push((i, j, v));
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks the optional set name of an `RHS`, `RANGES` or `BOUNDS` line.
    fn set_name(
        slot: &mut Option<String>,
        line: usize,
        name: &str,
        what: &str,
    ) -> Result<(), ParseError> {
        match slot {
            None => {
                *slot = Some(name.into());
                Ok(())
            }
            Some(first) if first == name => Ok(()),
            Some(first) => Err(err(
                line,
                format!(
                    "a second {what} set {name:?} (after {first:?}); only one set is supported"
                ),
            )),
        }
    }

    /// An `RHS` or (with `ranges`) `RANGES` line: `[set] row value [row value]`.
    fn rhs(&mut self, line: usize, t: &[&str], ranges: bool) -> Result<(), ParseError> {
        let what = if ranges { "RANGES" } else { "RHS" };
        let pairs = match t.len() {
            3 | 5 => {
                let slot = if ranges {
                    &mut self.range_set
                } else {
                    &mut self.rhs_set
                };
                Self::set_name(slot, line, t[0], what)?;
                &t[1..]
            }
            2 | 4 if self.row_names.contains_key(t[0]) => t,
            2 | 4 => {
                return Err(err(
                    line,
                    format!("missing value (an {what} line is [set name] row value [row value])"),
                ));
            }
            k => {
                return Err(err(
                    line,
                    format!("an {what} line is [set name] row value [row value]; found {k} fields"),
                ));
            }
        };
        for pair in pairs.chunks(2) {
            let r = self.row_ref(line, pair[0])?;
            let v = number(line, pair[1], &format!("the {what} of row {}", pair[0]))?;
            if ranges {
                if let RowRef::Con(i) = r {
                    if !self.range_seen.insert(i) {
                        return Err(err(
                            line,
                            format!("second RANGES entry for row {}", pair[0]),
                        ));
                    }
                    self.rows[i].range = Some(v);
                }
                // A range on an N row means nothing; ignored like the row itself.
            } else {
                if !self.rhs_seen.insert(r) && r != RowRef::Free {
                    return Err(err(line, format!("second RHS entry for row {}", pair[0])));
                }
                match r {
                    RowRef::Objective => self.obj_rhs = v,
                    RowRef::Free => {}
                    RowRef::Con(i) => self.rows[i].rhs = v,
                }
            }
        }
        Ok(())
    }

    fn bound(&mut self, line: usize, t: &[&str]) -> Result<(), ParseError> {
        let kind = t[0].to_ascii_uppercase();
        let with_value = match kind.as_str() {
            "UP" | "LO" | "FX" => true,
            "FR" | "MI" | "PL" => false,
            "BV" | "LI" | "UI" | "SC" => {
                return Err(err(
                    line,
                    format!(
                        "bound type {kind} makes a variable integer or semicontinuous; cvxcnn \
                         reads continuous programs only"
                    ),
                ));
            }
            _ => {
                return Err(err(
                    line,
                    format!(
                        "unknown bound type {:?} (expected UP, LO, FX, FR, MI or PL)",
                        t[0]
                    ),
                ));
            }
        };
        // [type, set?, column, value?]
        let (set, col, value) = match (with_value, t.len()) {
            (true, 4) => (Some(t[1]), t[2], Some(t[3])),
            (true, 3) if self.col_names.contains_key(t[1]) => (None, t[1], Some(t[2])),
            (true, 3) | (true, 2) => {
                return Err(err(line, format!("missing value for bound {kind}")));
            }
            (false, 2) => (None, t[1], None),
            (false, 3) => (Some(t[1]), t[2], None),
            // Some writers put a (meaningless) value after FR/MI/PL.
            (false, 4) => (Some(t[1]), t[2], Some(t[3])),
            (_, k) => {
                return Err(err(
                    line,
                    format!("a BOUNDS line is type [set name] column [value]; found {k} fields"),
                ));
            }
        };
        if let Some(set) = set {
            Self::set_name(&mut self.bound_set, line, set, "BOUNDS")?;
        }
        let j = self.col_ref(line, col)?;
        let v = match value {
            Some(tok) => number(line, tok, &format!("the {kind} bound of {col}"))?,
            None => 0.0,
        };
        let c = &mut self.cols[j];
        match kind.as_str() {
            // Only the upper bound, as in HiGHS 1.16: a negative `UP` on a variable with the
            // default lower bound 0 makes it infeasible. (Older readers, CPLEX's among them, then
            // drop the lower bound to −∞ instead; files meant for them should say `MI`.)
            "UP" => c.upper = v,
            "LO" => c.lower = v,
            "FX" => {
                c.lower = v;
                c.upper = v;
            }
            "FR" => {
                c.lower = f64::NEG_INFINITY;
                c.upper = f64::INFINITY;
            }
            "MI" => c.lower = f64::NEG_INFINITY,
            _ => c.upper = f64::INFINITY, // PL
        }
        Ok(())
    }

    fn quad(&mut self, line: usize, t: &[&str]) -> Result<(), ParseError> {
        if t.len() != 3 {
            return Err(err(
                line,
                format!(
                    "a quadratic objective line is column column value; found {} fields",
                    t.len()
                ),
            ));
        }
        let i = self.col_ref(line, t[0])?;
        let j = self.col_ref(line, t[1])?;
        let v = number(line, t[2], &format!("quadratic entry ({}, {})", t[0], t[1]))?;
        if i != j {
            if v != 0.0 {
                return Err(err(
                    line,
                    format!(
                        "off-diagonal quadratic entry ({}, {}); only a diagonal quadratic \
                         objective is supported (the IR holds diag(p))",
                        t[0], t[1]
                    ),
                ));
            }
            return Ok(());
        }
        if !self.quad_seen.insert(i) {
            return Err(err(
                line,
                format!("second quadratic entry for ({}, {})", t[0], t[1]),
            ));
        }
        self.cols[i].quad = v;
        self.cols[i].quad_line = line;
        Ok(())
    }

    /// Lowers the model read so far to the IR (at the `ENDATA` on `line`).
    fn finish(self, line: usize) -> Result<ConicProgram, ParseError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::clarabel::{ClarabelSettings, solve};

    fn parse_err(text: &str) -> ParseError {
        match parse(text) {
            Ok(_) => panic!("expected an error for\n{text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn numbers_round_trip_exactly() {
        let awkward = [
            0.1,
            1.0 / 3.0,
            -2.0 / 3.0,
            0.30000000000000004,
            1e-300,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            -f64::MAX,
            f64::EPSILON,
            1e15,
            1e16,
            123456789012345680.0,
            -1e22,
            1e23,
            9007199254740993.0,
            std::f64::consts::PI,
            0.5,
            1.0,
            100.0,
            1000.0,
        ];
        for &v in &awkward {
            let s = fmt_num(v);
            assert_eq!(
                s.parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{v} → {s}"
            );
        }
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(1e-7), "1e-7");
        assert_eq!(fmt_num(-3.0), "-3");
        // Pseudo-random bit patterns (xorshift), finite ones only.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                assert_eq!(fmt_num(v).parse::<f64>().unwrap().to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn awkward_program_round_trips_bit_for_bit() {
        let mut p = ConicProgram::new();
        p.add_vars("v", 3);
        p.q = vec![0.1, -1e-300, 0.0];
        p.p_diag = vec![1.0 / 3.0, 0.0, 5e-324];
        p.constant = -0.30000000000000004;
        let e = p.add_rows("eq", ConeKind::Zero, 1);
        let l = p.add_rows("le", ConeKind::Nonnegative, 2);
        p.push(e, 0, 2.0 / 3.0);
        p.push(e, 0, 1.0 / 7.0); // duplicates add up
        p.push(l, 1, f64::MAX);
        p.push(l + 1, 1, 1.0);
        p.push(l + 1, 1, -1.0); // sums to zero: skipped
        p.b = vec![1e23, -7.5, 0.0];
        let text = write(&p).unwrap();
        let back = parse(&text).unwrap();
        assert_eq!(back.q, p.q);
        assert_eq!(back.p_diag, p.p_diag);
        assert_eq!(back.constant.to_bits(), p.constant.to_bits());
        assert_eq!(back.b, p.b);
        let (a, b) = (p.a_csc(), back.a_csc());
        assert_eq!(b.nzval, vec![2.0 / 3.0 + 1.0 / 7.0, f64::MAX]);
        assert_eq!(a.rowval[..2], b.rowval[..]);
        let cones: Vec<_> = back.row_blocks.iter().map(|b| (b.cone, b.len)).collect();
        assert_eq!(cones, [(ConeKind::Zero, 1), (ConeKind::Nonnegative, 2)]);
        // Writing what was read gives the same bytes.
        assert_eq!(write(&back).unwrap(), text);
        assert!(text.contains("    x2 obj 0\n"), "{text}");
        assert!(text.contains("    RHS obj 0.30000000000000004\n"), "{text}");
    }

    #[test]
    fn cones_and_invalid_programs_are_refused() {
        let mut p = ConicProgram::new();
        p.add_vars("x", 2);
        p.add_rows("fit", ConeKind::Zero, 1);
        p.add_rows("norm_c[0]", ConeKind::SecondOrder, 2);
        p.add_rows("rot", ConeKind::RotatedSecondOrder, 3);
        let e = write(&p).unwrap_err();
        assert_eq!(
            e,
            WriteError::Cone {
                block: "norm_c[0]".into(),
                cone: "second-order".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "row block norm_c[0] is a second-order cone; MPS holds linear constraints and a \
             quadratic objective only; use --format cbf"
        );
        let mut p = ConicProgram::new();
        p.add_vars("x", 1);
        p.q[0] = f64::NAN;
        assert!(matches!(write(&p), Err(WriteError::Invalid { .. })));
    }

    const HAND: &str = "\
* a hand-written test problem
NAME          hand
OBJSENSE
    MAX
ROWS
 N  profit
 G  lim1
 L  lim2
 E  myeqn
 N  unused
COLUMNS
    x1  profit  -1   lim1  1
    x1  lim2    1
    x2  profit  -2   lim1  1
    x2  myeqn   -1   unused 4
    x3  profit  1    myeqn 1
    x4  profit  3
RHS
    RHS profit 1.5
    RHS lim1  1     lim2  4
    RHS myeqn 7
BOUNDS
 UP BND x1 4
 LO BND x2 -1
 UP BND x2 1
 FR BND x3
QUADOBJ
    x1 x1 -2
    x4 x4 -6
ENDATA
";

    #[test]
    fn hand_written_file_is_read_as_meant() {
        let p = parse(HAND).unwrap();
        assert_eq!(p.n_vars(), 4);
        // MAX negates the linear, quadratic and constant parts: constant = −(−RHS) = 1.5.
        assert_eq!(p.q, [1.0, 2.0, -1.0, -3.0]);
        assert_eq!(p.p_diag, [2.0, 0.0, 0.0, 6.0]);
        assert_eq!(p.constant, 1.5);
        let blocks: Vec<_> = p
            .row_blocks
            .iter()
            .map(|b| (b.name.as_str(), b.cone, b.len))
            .collect();
        assert_eq!(
            blocks,
            [
                ("lim1..lim2", ConeKind::Nonnegative, 2),
                ("myeqn", ConeKind::Zero, 1),
                // x1 and x4 have default lower bound 0, x2 has −1, x3 is free.
                ("lower_bounds", ConeKind::Nonnegative, 3),
                ("upper_bounds", ConeKind::Nonnegative, 2),
            ]
        );
        // G row: −x1 − x2 + s = −1; L row: x1 + s = 4; E row: −x2 + x3 = 7; the N row is dropped.
        assert_eq!(p.b, [-1.0, 4.0, 7.0, 0.0, 1.0, 0.0, 4.0, 1.0]);
        let mut e = p.entries.clone();
        e.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(
            e,
            [
                (0, 0, -1.0),
                (0, 1, -1.0),
                (1, 0, 1.0),
                (2, 1, -1.0),
                (2, 2, 1.0),
                (3, 0, -1.0),
                (4, 1, -1.0),
                (5, 3, -1.0),
                (6, 0, 1.0),
                (7, 1, 1.0),
            ]
        );
        // max −x1 − 2x2 + x3 + 3x4 − x1² − 3x4² − 1.5 with x3 = 7 + x2:
        // = −x1 − x2 + 7 − x1² + 3x4 − 3x4² − 1.5; x1 + x2 ≥ 1, x1 ∈ [0, 4], x2 ∈ [−1, 1], x4 ≥ 0.
        // x4 = ½; −x1 − x2 is maximal (−1) on x1 + x2 = 1, where −x1² favours x1 = 0, x2 = 1:
        // max = −1 + 7 + 0.75 − 1.5 = 5.25, i.e. the minimization's optimum is −5.25.
        let sol = solve(&p, &ClarabelSettings::default()).unwrap();
        assert!(
            (sol.primal_objective + 5.25).abs() < 1e-7,
            "{}",
            sol.primal_objective
        );
    }

    #[test]
    fn ranges_and_bound_conventions() {
        let text = "\
NAME r
ROWS
 N obj
 E e1
 E e2
 L l
 G g
COLUMNS
 x obj 1 e1 1
 x e2 1 l 1
 x g 1
 y obj 1 e1 1
RHS
 e1 2 e2 3
 l 5 g -1
RANGES
 RNG e1 4 e2 -1
 RNG l 2 g 5
BOUNDS
 MI BND y
 UP BND y -0.5
 MI BND x
ENDATA
";
        let p = parse(text).unwrap();
        let names: Vec<_> = p
            .row_blocks
            .iter()
            .map(|b| (b.name.as_str(), b.len))
            .collect();
        assert_eq!(names, [("e1..g", 4), ("ranges", 4), ("upper_bounds", 1)]);
        assert!(p.row_blocks[0].cone == ConeKind::Nonnegative);
        // e1: 2 ≤ x+y ≤ 6; e2: 2 ≤ x ≤ 3; l: 3 ≤ x ≤ 5; g: −1 ≤ x ≤ 4. y ≤ −0.5 with no lower
        // bound (MI); x is free (MI).
        assert_eq!(p.b, [-2.0, 3.0, 5.0, 1.0, 6.0, -2.0, -3.0, 4.0, -0.5]);
        // min x + y: x = 3 (e2 ∩ l), x + y ≥ 2 ⇒ y = −1: optimum 2.
        let sol = solve(&p, &ClarabelSettings::default()).unwrap();
        assert!(
            (sol.primal_objective - 2.0).abs() < 1e-7,
            "{}",
            sol.primal_objective
        );
    }

    #[test]
    fn fixed_format_without_set_names_and_fx() {
        let text = "\
NAME          FIXED
ROWS
 N  COST
 L  LIM1
COLUMNS
    X1        COST         1.0   LIM1         1.0
    X2        COST         2.0   LIM1         1.0
RHS
              LIM1         4.0
BOUNDS
 FX           X1           1.5
 LO           X2           0.5
ENDATA
";
        let p = parse(text).unwrap();
        let sol = solve(&p, &ClarabelSettings::default()).unwrap();
        assert!((sol.primal_objective - 2.5).abs() < 1e-7);
        assert_eq!(p.row_blocks.last().unwrap().name, "fixed_bounds");
    }

    #[test]
    fn errors_name_their_line() {
        let head = "NAME t\nROWS\n N obj\n E c\nCOLUMNS\n";
        let cases: [(String, usize, &str); 22] = [
            (
                format!("{head} x obj 1\nFOO\nENDATA\n"),
                7,
                "unknown section",
            ),
            (
                format!("{head} x d 1\nENDATA\n"),
                6,
                "row d is not declared",
            ),
            (
                format!("{head} x obj 1\nBOUNDS\n UP B y 1\nENDATA\n"),
                8,
                "column y is not declared",
            ),
            (
                "ROWS\n N obj\n E c\n L c\nENDATA\n".into(),
                4,
                "row c declared twice (first on line 3)",
            ),
            (
                format!("{head} x obj 1\n y obj 1\n x c 1\nENDATA\n"),
                8,
                "column x appears again",
            ),
            (
                format!("{head} x obj 1\n x obj 2\nENDATA\n"),
                7,
                "second entry for row obj",
            ),
            (format!("{head} x obj\nENDATA\n"), 6, "missing value"),
            (format!("{head} x obj 1 c\nENDATA\n"), 6, "missing value"),
            (
                format!("{head} x obj 1\nRHS\n RHS c\nENDATA\n"),
                8,
                "missing value",
            ),
            (
                format!("{head} x obj 1\nBOUNDS\n UP BND x\nENDATA\n"),
                8,
                "missing value",
            ),
            (
                format!("{head} x obj one\nENDATA\n"),
                6,
                "expected a number",
            ),
            (
                format!("{head} x obj 1\nRHS\n RHS c inf\nENDATA\n"),
                8,
                "not a finite number",
            ),
            (
                format!("{head} x obj 1e400\nENDATA\n"),
                6,
                "not a finite number",
            ),
            (
                format!("{head} x obj NaN\nENDATA\n"),
                6,
                "not a finite number",
            ),
            (format!("{head} x obj 1\n"), 7, "end of file before ENDATA"),
            (String::new(), 1, "end of file before ENDATA"),
            (
                format!("{head} M 'MARKER' 'INTORG'\n x obj 1\nENDATA\n"),
                6,
                "integer MARKER",
            ),
            (
                format!("{head} x obj 1\n y obj 1\nQUADOBJ\n x x 1\n y x 0.5\nENDATA\n"),
                10,
                "off-diagonal quadratic entry (y, x)",
            ),
            (
                format!("{head} x obj 1\nBOUNDS\n BV BND x\nENDATA\n"),
                8,
                "integer or semicontinuous",
            ),
            (
                format!("{head} x obj 1\nQUADOBJ\n x x -1\nENDATA\n"),
                8,
                "not convex",
            ),
            (
                format!("{head} x obj 1\nCOLUMNS\nENDATA\n"),
                7,
                "appears twice",
            ),
            ("  x obj 1\n".into(), 1, "before any section"),
        ];
        for (text, line, needle) in &cases {
            let e = parse_err(text);
            assert_eq!(e.line, *line, "{e} for\n{text}");
            assert!(
                e.message.contains(needle),
                "{e:?} lacks {needle:?} for\n{text}"
            );
            assert!(e.to_string().starts_with(&format!("line {line}: ")));
        }
        // Off-diagonal zeros and QMATRIX's mirrored diagonal are fine.
        let ok = format!("{head} x obj 1\n y obj 1\nQMATRIX\n x x 1\n x y 0\n y x 0\nENDATA\n");
        assert_eq!(parse(&ok).unwrap().p_diag, [1.0, 0.0]);
    }

    #[test]
    fn objective_constant_sign() {
        // RHS on the objective row r means objective cᵀx − r.
        let text =
            "ROWS\n N obj\nCOLUMNS\n x obj 0\nRHS\n RHS obj 2\nBOUNDS\n FX BND x 0\nENDATA\n";
        let p = parse(text).unwrap();
        assert_eq!(p.constant, -2.0);
        let max = text.replace("ROWS", "OBJSENSE MAX\nROWS");
        assert_eq!(parse(&max).unwrap().constant, 2.0);
    }
}
