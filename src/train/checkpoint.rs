//! Checkpoints that a killed run never leaves half-written.
//!
//! A run directory holds `checkpoints/iter-<N>/` directories and a `latest` file naming
//! the newest complete one. A checkpoint is written into a fresh directory, every file
//! synced, and only then is `latest` replaced (write `latest.tmp`, sync, rename, sync the
//! directory). A kill at any moment leaves `latest` naming a complete checkpoint; older
//! ones are removed afterwards.

use super::metrics::EpochMetrics;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a run stands: what `state.json` of a checkpoint holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Epochs finished (0-based index of the epoch to run next).
    pub epoch: u32,
    /// Batches of `epoch` already done (non-zero for a mid-epoch checkpoint).
    pub batch: usize,
    pub iteration: u64,
    /// Every finished epoch's metrics.
    pub metrics: Vec<EpochMetrics>,
    /// Sums over the batches of the unfinished epoch: loss·images, correct, images.
    pub partial: (f64, u64, u64),
}

fn checkpoints(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

/// Syncs a file or directory to disk.
fn sync(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Writes `bytes` to `path` atomically: a uniquely named temporary file in the same
/// directory (never a name the user may own), synced, renamed over `path`, and the
/// directory synced. A bare file name writes into the current directory. The file gets
/// the usual `rw-r--r--` mode, not the temporary file's private one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".resc-").suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync(dir)
}

/// Writes a checkpoint: `write` fills the new directory (model, optimisers), then the
/// state is added and `latest` switched to it.
pub fn save(
    run: &Path,
    state: &State,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let root = checkpoints(run);
    let name = format!("iter-{}", state.iteration);
    let dir = root.join(&name);
    let io = |e: io::Error| format!("cannot write checkpoint {}: {e}", dir.display());
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io)?;
    }
    fs::create_dir_all(&dir).map_err(io)?;
    write(&dir)?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    write_atomic(&dir.join("state.json"), &json).map_err(io)?;
    for entry in fs::read_dir(&dir).map_err(io)? {
        sync(&entry.map_err(io)?.path()).map_err(io)?;
    }
    sync(&dir).map_err(io)?;
    write_atomic(&root.join("latest"), name.as_bytes()).map_err(io)?;
    // Older checkpoints (and any a killed run left half-written) are no longer needed.
    for entry in fs::read_dir(&root).map_err(io)?.flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != name.as_str()) {
            let _ = fs::remove_dir_all(path);
        }
    }
    Ok(dir)
}

/// The newest complete checkpoint of a run directory and its state.
pub fn latest(run: &Path) -> Result<(PathBuf, State), String> {
    let root = checkpoints(run);
    let pointer = root.join("latest");
    let name = fs::read_to_string(&pointer).map_err(|e| {
        format!(
            "no checkpoint in {} ({}: {e})",
            run.display(),
            pointer.display()
        )
    })?;
    let dir = root.join(name.trim());
    let state_path = dir.join("state.json");
    let text = fs::read_to_string(&state_path)
        .map_err(|e| format!("cannot read {}: {e}", state_path.display()))?;
    let state: State = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a checkpoint state: {e}", state_path.display()))?;
    Ok((dir, state))
}
