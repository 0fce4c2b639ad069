//! The MPS reader: tokens and sections into a `Reader`, which `lower` turns into a
//! [`ConicProgram`].

use crate::ir::ConicProgram;
use std::collections::{HashMap, HashSet};

mod lower;

/// A parse error with its 1-based line number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the offending text (the line after the last one for a truncated file).
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

/// Magnitude from which bounds and ranges read from a file count as infinite (HiGHS's and
/// Clarabel's default `infinite_bound`).
const INFINITE_BOUND: f64 = 1e20;

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
}
