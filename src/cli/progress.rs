//! Progress bars on stderr, fed by the library's progress callback.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;

pub(crate) fn progress_bar(quiet: bool) -> impl Fn(&str, usize, usize) + Sync {
    let bar = Mutex::new(None::<(String, ProgressBar)>);
    move |phase: &str, done: usize, total: usize| {
        if quiet || phase == "solve" {
            return;
        }
        let Ok(mut slot) = bar.lock() else { return };
        let fresh = !matches!(&*slot, Some((p, _)) if p == phase);
        if fresh {
            let pb = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
            {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message(phase.to_string());
            *slot = Some((phase.to_string(), pb));
        }
        if let Some((_, pb)) = &*slot {
            pb.set_position(done as u64);
            if done >= total {
                pb.finish_and_clear();
            }
        }
    }
}

/// Progress of `compare`: a spinner per solver (ticking while it runs), a bar for SGD's steps and
/// the reduction phases; nothing with `--quiet`.
pub(crate) fn compare_progress(quiet: bool) -> impl Fn(&str, usize, usize) + Sync {
    let bar = Mutex::new(None::<(String, ProgressBar)>);
    move |phase: &str, done: usize, total: usize| {
        if quiet || phase == "solve" {
            return;
        }
        let Ok(mut slot) = bar.lock() else { return };
        let fresh = !matches!(&*slot, Some((p, _)) if p == phase);
        if fresh {
            if let Some((_, old)) = slot.take() {
                old.finish_and_clear();
            }
            let pb = ProgressBar::new(total as u64);
            let template = if total > 1 {
                "{msg:>12} [{bar:30}] {pos}/{len} {elapsed}"
            } else {
                "{msg:>12} {spinner} {elapsed}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message(phase.to_string());
            if total <= 1 {
                pb.enable_steady_tick(std::time::Duration::from_millis(200));
            }
            *slot = Some((phase.to_string(), pb));
        }
        if let Some((_, pb)) = &*slot {
            pb.set_position(done as u64);
            if done >= total {
                pb.finish_and_clear();
                *slot = None;
            }
        }
    }
}
