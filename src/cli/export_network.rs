//! `cvxcnn export-network`, and reading `--network` files in the safetensors layout.

use super::output::check_writable;
use clap::{Args, ValueEnum};
use cvxcnn::network::Weights;
use cvxcnn::network::state_dict::{self, Expected};
use cvxcnn::predict::Saved;
use cvxcnn::problem::{Architecture, Problem};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Network file formats.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum NetworkFormat {
    /// A PyTorch state_dict (conv.weight, conv.bias, fc.weight) in a safetensors file.
    Safetensors,
}

#[derive(Args)]
pub(crate) struct ExportNetworkArgs {
    /// A result file written by `cvxcnn solve`.
    pub(crate) result: PathBuf,
    /// File format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub(crate) format: NetworkFormat,
    /// Output file (written atomically).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

pub(crate) fn export_network(args: &ExportNetworkArgs) -> Result<ExitCode, String> {
    check_writable(&args.out, "--out")?;
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
    let bytes = Saved::from_json(&json)
        .and_then(|s| match args.format {
            NetworkFormat::Safetensors => s.state_dict(),
        })
        .map_err(|e| format!("{}: {e}", args.result.display()))?;
    super::output::write_bytes(&bytes, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

/// True when `bytes` is not JSON text (a safetensors file starts with its header's length).
pub(crate) fn is_safetensors(bytes: &[u8]) -> bool {
    !matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | None
    )
}

/// The network of a safetensors `--network` file for `problem` (two-layer architectures only).
pub(crate) fn read_network(
    path: &Path,
    bytes: &[u8],
    problem: &Problem,
) -> Result<Weights, String> {
    let Architecture::TwoLayer { geometry, bias, .. } = problem.architecture else {
        return Err(format!(
            "{}: a safetensors network is a two-layer Conv/Linear state_dict, but the problem's \
             architecture is another; give the network as JSON (the result-file layout)",
            path.display()
        ));
    };
    state_dict::read(
        bytes,
        Expected {
            channels: problem.x.dim().1,
            geometry,
            one_d: problem.one_d,
            bias,
        },
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}
