use super::write::fmt_num;
use super::*;
use crate::backend::clarabel::{ClarabelSettings, solve};
use crate::ir::{ConeKind, ConicProgram};

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
    let text = "ROWS\n N obj\nCOLUMNS\n x obj 0\nRHS\n RHS obj 2\nBOUNDS\n FX BND x 0\nENDATA\n";
    let p = parse(text).unwrap();
    assert_eq!(p.constant, -2.0);
    let max = text.replace("ROWS", "OBJSENSE MAX\nROWS");
    assert_eq!(parse(&max).unwrap().constant, 2.0);
}
