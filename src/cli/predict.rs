//! `cvxcnn predict`.

use super::output::{check_writable, write_text};
use clap::Args;
use cvxcnn::predict::{Predictions, Saved};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct PredictArgs {
    /// A result file written by `cvxcnn solve`.
    pub(crate) result: PathBuf,
    /// Inputs `.npy`, `[n, C, L]` or `[n, C, H, W]` with the training inputs' per-sample shape.
    #[arg(long)]
    pub(crate) inputs: PathBuf,
    /// Write the predictions here instead of stdout (atomically).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

pub(crate) fn predict(args: &PredictArgs) -> Result<ExitCode, String> {
    if let Some(out) = &args.out {
        check_writable(out, "--out")?;
    }
    let text = std::fs::read_to_string(&args.result).map_err(|e| {
        format!(
            "{}: {e} (check the result file path)",
            args.result.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not JSON ({e}); give a result file written by `cvxcnn solve`",
            args.result.display()
        )
    })?;
    let saved = Saved::from_json(&json).map_err(|e| format!("{}: {e}", args.result.display()))?;
    let inputs = cvxcnn::data::load_inputs_with_hint(&args.inputs, "check the --inputs path")
        .map_err(|e| e.to_string())?;
    saved
        .check_inputs(inputs.x.view(), inputs.one_d)
        .map_err(|e| format!("{}: {e}", args.inputs.display()))?;
    let mut lines = String::new();
    match saved.predict(inputs.x.view()) {
        Predictions::Outputs(f) => f.iter().for_each(|v| lines.push_str(&format!("{v:?}\n"))),
        Predictions::Labels(l) => l.iter().for_each(|v| lines.push_str(&format!("{v}\n"))),
    }
    write_text(&lines, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
