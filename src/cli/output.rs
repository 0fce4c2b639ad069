//! Writing results: stdout, or the file given with `--out` (or `--plot`).
//!
//! What a path names decides how it is written:
//! - `-`, `/dev/stdout` and `/dev/stderr` are the process's own streams;
//! - any other existing file that is not a regular file (a terminal, a pipe, `/dev/null`,
//!   `/dev/fd/N`) is opened and written in place — it must never be replaced;
//! - a regular file, or a path that does not exist yet, gets a temporary file in the same folder and
//!   an atomic rename, so a failure leaves nothing behind and never a half-written file. A symbolic
//!   link is followed to its target, which is what gets replaced; the link stays a link.
//!
//! A new file gets mode `0666` less the umask (the kernel applies it, as for `>` in a shell); a
//! replaced file keeps its mode.

use serde::Serialize;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where an output goes.
enum Destination {
    Stdout,
    Stderr,
    /// An existing non-regular file, written in place.
    InPlace(PathBuf),
    /// A regular file (existing or new), replaced atomically. `mode` is the existing file's.
    Replace {
        target: PathBuf,
        mode: Option<u32>,
    },
}

/// Follows a chain of symbolic links to the path they finally name (which may not exist).
fn follow_links(path: &Path) -> Result<PathBuf, String> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(md) if md.file_type().is_symlink() => {
                let link = fs::read_link(&p)
                    .map_err(|e| format!("{}: cannot read the link: {e}", path.display()))?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(format!(
        "{}: too many levels of symbolic links; give the file itself",
        path.display()
    ))
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Resolves `out` (given with `flag`) into a destination, refusing what cannot be written to: a
/// folder, or a path whose folder does not exist.
fn destination(out: &Path, flag: &str) -> Result<Destination, String> {
    match out.to_str() {
        Some("-") | Some("/dev/stdout") => return Ok(Destination::Stdout),
        Some("/dev/stderr") => return Ok(Destination::Stderr),
        _ => {}
    }
    let target = follow_links(out)?;
    match fs::metadata(&target) {
        Ok(md) if md.is_dir() => Err(format!(
            "{}: is a folder; give {flag} a file name (e.g. {}/result.json)",
            out.display(),
            out.display()
        )),
        Ok(md) if md.is_file() => Ok(Destination::Replace {
            target,
            mode: Some(md.permissions().mode()),
        }),
        Ok(_) => Ok(Destination::InPlace(out.to_path_buf())),
        Err(_) => {
            let dir = folder_of(&target);
            if !dir.is_dir() {
                return Err(format!(
                    "{}: the folder {} does not exist; create it or give {flag} a path in an \
                     existing folder",
                    out.display(),
                    dir.display()
                ));
            }
            Ok(Destination::Replace { target, mode: None })
        }
    }
}

/// Refuses, before any work is done, an output path that cannot be written (`flag` names the
/// option in the message).
pub(crate) fn check_writable(out: &Path, flag: &str) -> Result<(), String> {
    destination(out, flag).map(|_| ())
}

/// Writes `value` as pretty JSON with a final newline.
pub(crate) fn write_json<T: Serialize>(value: &T, out: Option<&Path>) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| format!("cannot serialize the result: {e}"))?;
    // Certificates' evidence holds thousands of numbers: one line per array of them.
    let mut text = cvxcnn::evidence::compact_evidence(&text);
    text.push('\n');
    write_text(&text, out)
}

/// A temporary file that is removed unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `text` to stdout (`None`) or to `out`, as described in the module docs.
pub(crate) fn write_text(text: &str, out: Option<&Path>) -> Result<(), String> {
    write_data(text.as_bytes(), out)
}

/// Writes `bytes` (a binary file) to `out`, as [`write_text`] writes text.
pub(crate) fn write_bytes(bytes: &[u8], out: &Path) -> Result<(), String> {
    write_data(bytes, Some(out))
}

fn write_data(text: &[u8], out: Option<&Path>) -> Result<(), String> {
    let Some(out) = out else {
        return write_stream(&mut std::io::stdout().lock(), text, "stdout");
    };
    match destination(out, "--out")? {
        Destination::Stdout => write_stream(&mut std::io::stdout().lock(), text, "stdout"),
        Destination::Stderr => write_stream(&mut std::io::stderr().lock(), text, "stderr"),
        Destination::InPlace(path) => {
            let mut f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| format!("{}: cannot open for writing: {e}", path.display()))?;
            write_stream(&mut f, text, &path.display().to_string())
        }
        Destination::Replace { target, mode } => replace(out, &target, mode, text),
    }
}

fn write_stream(w: &mut impl Write, text: &[u8], name: &str) -> Result<(), String> {
    w.write_all(text)
        .and_then(|_| w.flush())
        .map_err(|e| format!("cannot write to {name}: {e}"))
}

/// Temp file beside `target`, then rename over it.
fn replace(out: &Path, target: &Path, mode: Option<u32>, text: &[u8]) -> Result<(), String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = folder_of(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let cannot = |e: std::io::Error| format!("{}: cannot write: {e}", out.display());
    let mut created = None;
    for _ in 0..100 {
        let path = dir.join(format!(
            ".{name}.cvxcnn-{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // 0666 less the umask, exactly as a shell's `>` would create the file.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&path)
        {
            Ok(f) => {
                created = Some((f, path));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "{}: cannot create a temporary file in {}: {e}",
                    out.display(),
                    dir.display()
                ));
            }
        }
    }
    let Some((mut file, path)) = created else {
        return Err(format!(
            "{}: cannot create a temporary file in {}",
            out.display(),
            dir.display()
        ));
    };
    let mut tmp = TempFile { path, keep: false };
    file.write_all(text)
        .and_then(|_| file.sync_all())
        .map_err(cannot)?;
    if let Some(mode) = mode {
        fs::set_permissions(&tmp.path, fs::Permissions::from_mode(mode)).map_err(cannot)?;
    }
    drop(file);
    fs::rename(&tmp.path, target).map_err(cannot)?;
    tmp.keep = true;
    Ok(())
}
