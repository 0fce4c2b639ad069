//! Writing results: stdout, or a file given with `--out`.

use serde::Serialize;
use std::io::Write;
use std::path::Path;

pub(crate) fn check_writable(out: &Path) -> Result<(), String> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{}: the folder {} does not exist; create it or choose another --out",
            out.display(),
            dir.display()
        ));
    }
    Ok(())
}

pub(crate) fn write_json<T: Serialize>(value: &T, out: Option<&Path>) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| format!("cannot serialize the result: {e}"))?;
    text.push('\n');
    write_text(&text, out)
}

pub(crate) fn write_text(text: &str, out: Option<&Path>) -> Result<(), String> {
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .map_err(|e| format!("cannot write to stdout: {e}"))
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
                format!(
                    "{}: cannot create a temporary file in {}: {e}",
                    path.display(),
                    dir.display()
                )
            })?;
            tmp.write_all(text.as_bytes())
                .and_then(|_| tmp.flush())
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
            tmp.persist(path)
                .map_err(|e| format!("{}: cannot write: {}", path.display(), e.error))?;
            Ok(())
        }
    }
}
