//! The crate's layers only point down: every `crate::…` path in `src/` (outside the binary's
//! `main.rs` and `cli/`) names a module of the same or a lower layer of the table in the crate docs
//! (`src/lib.rs`), and neither the files nor the top-level modules import each other in a cycle.
//!
//! The table in `src/lib.rs` is the single source of truth: a module missing from it, a path to a
//! higher layer, or a cycle fails here with the file and the path. The tests at the end show the
//! check failing on a deliberate upward import and on a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Rank of every top-level module, read from the `//! | layer | modules | …` table of `lib.rs`:
/// rows `//! | N | `a`, `b` | …`.
fn layer_table(lib: &str) -> BTreeMap<String, usize> {
    let mut ranks = BTreeMap::new();
    for line in lib.lines() {
        let Some(row) = line.strip_prefix("//! |") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Some(rank) = cells.first().and_then(|c| c.parse::<usize>().ok()) else {
            continue;
        };
        for name in cells[1].split('`').skip(1).step_by(2) {
            ranks.insert(name.to_string(), rank);
        }
    }
    ranks
}

/// The text of a Rust file without comments, string and char literals (their contents could
/// mention `crate::` paths that are not imports).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i + 1 < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'r' && b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#\"") {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
        } else if b[i] == b'\'' && is_char_literal(&src[i..]) {
            // A char literal ('a', '…', '\n', '\''); lifetimes ('a) have no closing quote.
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if !src.is_char_boundary(i) {
            i += 1;
        } else {
            let ch = src[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Whether `s` (starting at a `'`) opens a char literal rather than a lifetime.
fn is_char_literal(s: &str) -> bool {
    let mut c = s.chars().skip(1);
    matches!(
        (c.next(), c.next()),
        (Some('\\'), _) | (Some(_), Some('\''))
    )
}

/// The module path of a source file: `src/arch/two_layer/mod.rs` → `["arch", "two_layer"]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .skip(1)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Every `crate::a::b…` and `super::…` path of `code`, as absolute module paths (identifiers only,
/// the trailing item included; brace groups expanded one level).
fn paths(code: &str, module: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != b':';
        let rest = &code[i..];
        let (base, skip): (Vec<String>, usize) = if at_word_start && rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if at_word_start && rest.starts_with("super::") {
            // `module` is already the file's module (a mod.rs is its folder's): `super` is its
            // parent, each further `super` one more step up.
            let _ = is_mod_file;
            let mut up = module.to_vec();
            let mut j = i + "super::".len();
            while code[j..].starts_with("super::") {
                up.pop();
                j += "super::".len();
            }
            up.pop();
            (up, j - i)
        } else {
            i += 1;
            continue;
        };
        let mut j = i + skip;
        let mut segs = base;
        loop {
            let start = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if start == j {
                break;
            }
            segs.push(code[start..j].to_string());
            if code[j..].starts_with("::") {
                j += 2;
                if code[j..].starts_with('{') {
                    // `a::{b, c::d, self}`: one path per item of the group.
                    let end = code[j..].find('}').map_or(bytes.len(), |e| j + e);
                    for item in code[j + 1..end].split(',') {
                        let item: Vec<String> = item
                            .split("::")
                            .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
                            .filter(|s| !s.is_empty() && s != "self" && s != "*")
                            .collect();
                        let mut p = segs.clone();
                        p.extend(item);
                        out.push(p);
                    }
                    j = end;
                    segs.clear();
                    break;
                }
            } else {
                break;
            }
        }
        if !segs.is_empty() {
            out.push(segs);
        }
        i = j.max(i + 1);
    }
    out
}

/// The file a module path resolves to: the deepest prefix that is a module of the crate.
fn resolve(path: &[String], files: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].to_vec())
        .find(|p| files.contains_key(p))
}

/// The crate's import graph: file module → modules it names.
fn graph(
    sources: &BTreeMap<Vec<String>, (PathBuf, String)>,
) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files: BTreeMap<Vec<String>, PathBuf> = sources
        .iter()
        .map(|(m, (p, _))| (m.clone(), p.clone()))
        .collect();
    let mut g = BTreeMap::new();
    for (module, (path, text)) in sources {
        let is_mod = path.ends_with("mod.rs") || path.ends_with("lib.rs");
        let mut to = BTreeSet::new();
        for p in paths(&code_only(text), module, is_mod) {
            if let Some(target) = resolve(&p, &files)
                && &target != module
            {
                // A module naming its own descendants is its `mod` tree, not an import upward.
                to.insert(target);
            }
        }
        g.insert(module.clone(), to);
    }
    g
}

/// Upward imports (by the table) and cycles (between files, and between top-level modules).
fn violations(
    sources: &BTreeMap<Vec<String>, (PathBuf, String)>,
    ranks: &BTreeMap<String, usize>,
) -> Vec<String> {
    let g = graph(sources);
    let mut bad = Vec::new();
    let top = |m: &Vec<String>| m.first().cloned().unwrap_or_else(|| "lib".into());
    for (from, tos) in &g {
        if from.is_empty() {
            continue; // lib.rs declares every module.
        }
        let Some(&rf) = ranks.get(&top(from)) else {
            bad.push(format!(
                "{}: module `{}` is not in the layer table of src/lib.rs",
                sources[from].0.display(),
                top(from)
            ));
            continue;
        };
        for to in tos {
            if to.is_empty() {
                continue;
            }
            let rt = ranks.get(&top(to)).copied().unwrap_or(usize::MAX);
            if rt > rf {
                bad.push(format!(
                    "{} (layer {rf}) imports crate::{} (layer {rt}): an upward import",
                    sources[from].0.display(),
                    to.join("::")
                ));
            }
        }
    }
    // File cycles: a module importing a descendant of itself through a chain back to itself.
    let file_edges: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = g
        .iter()
        .map(|(f, tos)| {
            let keep: Vec<&Vec<String>> = tos
                .iter()
                .filter(|t| !t.is_empty() && !f.is_empty())
                // A parent module re-exporting its children is part of its own tree.
                .filter(|t| !(t.len() > f.len() && t.starts_with(f)))
                .collect();
            (f, keep)
        })
        .collect();
    if let Some(cycle) = find_cycle(&file_edges) {
        bad.push(format!(
            "import cycle between files: {}",
            cycle
                .iter()
                .map(|m| format!("crate::{}", m.join("::")))
                .collect::<Vec<_>>()
                .join(" → ")
        ));
    }
    let mut folder: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (f, tos) in &g {
        if f.is_empty() {
            continue;
        }
        for t in tos {
            if !t.is_empty() && top(t) != top(f) {
                folder.entry(top(f)).or_default().insert(top(t));
            }
        }
    }
    let owned: Vec<(Vec<String>, Vec<Vec<String>>)> = folder
        .iter()
        .map(|(f, ts)| {
            (
                vec![f.clone()],
                ts.iter().map(|t| vec![t.clone()]).collect(),
            )
        })
        .collect();
    let folder_edges: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = owned
        .iter()
        .map(|(f, ts)| (f, ts.iter().collect()))
        .collect();
    if let Some(cycle) = find_cycle(&folder_edges) {
        bad.push(format!(
            "import cycle between top-level modules: {}",
            cycle
                .iter()
                .map(|m| m.join("::"))
                .collect::<Vec<_>>()
                .join(" → ")
        ));
    }
    bad
}

/// One cycle of a directed graph, if any (depth-first search).
fn find_cycle<'a>(
    edges: &BTreeMap<&'a Vec<String>, Vec<&'a Vec<String>>>,
) -> Option<Vec<&'a Vec<String>>> {
    fn visit<'a>(
        n: &'a Vec<String>,
        edges: &BTreeMap<&'a Vec<String>, Vec<&'a Vec<String>>>,
        state: &mut BTreeMap<&'a Vec<String>, u8>,
        stack: &mut Vec<&'a Vec<String>>,
    ) -> Option<Vec<&'a Vec<String>>> {
        state.insert(n, 1);
        stack.push(n);
        for &m in edges.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|&s| s == m).unwrap_or(0);
                    let mut c = stack[start..].to_vec();
                    c.push(m);
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for &n in edges.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, edges, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

/// Every library source file (not the binary's `main.rs` and `cli/`), by module path.
fn library_sources() -> BTreeMap<Vec<String>, (PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src is readable") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("src"), &mut files);
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(root())
                .expect("under the root")
                .to_path_buf();
            let s = rel.to_string_lossy();
            if s == "src/main.rs" || s.starts_with("src/cli/") {
                return None;
            }
            // Test files included with `#[cfg(test)] mod tests;` belong to their parent module.
            let text = std::fs::read_to_string(&p).expect("readable");
            Some((module_of(&rel), (rel, text)))
        })
        .collect()
}

#[test]
fn every_import_points_down_and_nothing_imports_in_a_cycle() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let ranks = layer_table(&lib);
    assert!(
        ranks.len() > 10,
        "the layer table of src/lib.rs was not found: {ranks:?}"
    );
    let sources = library_sources();
    // Every top-level module of the crate is in the table.
    for m in sources.keys().filter_map(|m| m.first()) {
        assert!(
            ranks.contains_key(m),
            "module `{m}` is missing from the layer table of src/lib.rs"
        );
    }
    let bad = violations(&sources, &ranks);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn fake(files: &[(&str, &str)]) -> BTreeMap<Vec<String>, (PathBuf, String)> {
    files
        .iter()
        .map(|(p, t)| (module_of(Path::new(p)), (PathBuf::from(p), t.to_string())))
        .collect()
}

#[test]
fn the_check_fails_on_an_upward_import() {
    let ranks: BTreeMap<String, usize> = [("low".to_string(), 0), ("high".to_string(), 1)]
        .into_iter()
        .collect();
    let ok = fake(&[
        ("src/lib.rs", "pub mod low; pub mod high;"),
        ("src/low.rs", "pub fn f() {}"),
        (
            "src/high.rs",
            "use crate::low::f; // crate::high is fine in a comment",
        ),
    ]);
    assert!(violations(&ok, &ranks).is_empty());
    let upward = fake(&[
        ("src/lib.rs", "pub mod low; pub mod high;"),
        ("src/low.rs", "use crate::high::g; pub fn f() {}"),
        ("src/high.rs", "pub fn g() {}"),
    ]);
    let bad = violations(&upward, &ranks);
    assert!(bad.iter().any(|b| b.contains("upward import")), "{bad:?}");
    // Mentions in comments and strings are not imports.
    let quoted = fake(&[
        ("src/lib.rs", "pub mod low; pub mod high;"),
        (
            "src/low.rs",
            "/// see [`crate::high`]\nfn f() -> &'static str { \"crate::high::g\" }",
        ),
        ("src/high.rs", "pub fn g() {}"),
    ]);
    assert!(violations(&quoted, &ranks).is_empty());
}

#[test]
fn the_check_fails_on_a_cycle() {
    let ranks: BTreeMap<String, usize> = [("a".to_string(), 0)].into_iter().collect();
    let cycle = fake(&[
        ("src/lib.rs", "pub mod a;"),
        ("src/a/mod.rs", "pub mod x; pub mod y;"),
        ("src/a/x.rs", "use crate::a::y::Y; pub struct X;"),
        ("src/a/y.rs", "use super::x::X; pub struct Y;"),
    ]);
    let bad = violations(&cycle, &ranks);
    assert!(
        bad.iter().any(|b| b.contains("import cycle between files")),
        "{bad:?}"
    );
    let ranks: BTreeMap<String, usize> = [("a".to_string(), 0), ("b".to_string(), 0)]
        .into_iter()
        .collect();
    let folders = fake(&[
        ("src/lib.rs", "pub mod a; pub mod b;"),
        ("src/a/mod.rs", "pub mod x;"),
        ("src/a/x.rs", "use crate::b::z::Z; pub struct X;"),
        ("src/b/mod.rs", "pub mod z; pub mod w;"),
        ("src/b/z.rs", "pub struct Z;"),
        ("src/b/w.rs", "use crate::a::x::X;"),
    ]);
    let bad = violations(&folders, &ranks);
    assert!(
        bad.iter().any(|b| b.contains("top-level modules")),
        "{bad:?}"
    );
}
