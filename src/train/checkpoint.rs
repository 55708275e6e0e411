//! Checkpoints that a killed run never leaves half-written.
//!
//! A run directory holds `checkpoints/iter-<N>/` directories and a `latest` file naming
//! the newest complete one. A checkpoint is written into a hidden `.iter-<N>.partial`
//! directory, every file synced, renamed to its final name, and only then is `latest`
//! replaced (a uniquely named temporary file, synced, renamed, the directory synced). A
//! kill at any moment leaves `latest` naming a complete checkpoint and no half-written
//! directory under a final name; older ones are removed afterwards.

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
    /// The MD5 digest of every other file of the checkpoint (model, optimisers), written
    /// by [`save`] and verified by [`latest`]: a file changed on disk (a flipped byte, a
    /// truncated copy) is an error, never weights that load silently. Checkpoints from
    /// before this field have none and are not verified.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, String>,
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

/// Writes a checkpoint: `write` fills a new hidden directory (model, optimisers), the
/// state is added, every file synced, the directory renamed to its final name
/// (`iter-<N>`, or `iter-<N>.<k>` when that name is taken), and only then is `latest`
/// switched to it. A kill at any moment leaves complete checkpoints under final names
/// and, at worst, a hidden `.partial` directory that the next save removes.
pub fn save(
    run: &Path,
    state: &State,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let root = checkpoints(run);
    let base = format!("iter-{}", state.iteration);
    let partial = root.join(format!(".{base}.partial"));
    let io = |e: io::Error| cannot_write(&partial, &e);
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io)?;
    }
    fs::create_dir_all(&partial).map_err(io)?;
    write(&partial).map_err(|e| with_full_disk(e, &partial))?;
    let mut state = state.clone();
    state.files = digests(&partial).map_err(io)?;
    let json = serde_json::to_vec_pretty(&state).map_err(|e| e.to_string())?;
    write_atomic(&partial.join("state.json"), &json).map_err(io)?;
    for entry in fs::read_dir(&partial).map_err(io)? {
        sync(&entry.map_err(io)?.path()).map_err(io)?;
    }
    sync(&partial).map_err(io)?;
    // The same iteration can be saved twice (an epoch's end that is also an
    // every-N-iterations point); the checkpoint `latest` names is never touched.
    let name = (0..)
        .map(|k| {
            if k == 0 {
                base.clone()
            } else {
                format!("{base}.{k}")
            }
        })
        .find(|n| !root.join(n).exists())
        .expect("a free name");
    let dir = root.join(&name);
    fs::rename(&partial, &dir).map_err(io)?;
    sync(&root).map_err(io)?;
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

/// The MD5 digest of every file of `dir` but `state.json`, by file name.
fn digests(dir: &Path) -> io::Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if path.is_file() && name != "state.json" {
            out.insert(name, format!("{:x}", md5::compute(fs::read(&path)?)));
        }
    }
    Ok(out)
}

/// "cannot write checkpoint …", saying so when the disk is full.
fn cannot_write(path: &Path, e: &io::Error) -> String {
    with_full_disk(
        format!("cannot write checkpoint {}: {e}", path.display()),
        path,
    )
}

/// `message`, with a note when the file system holding `path` has (almost) no space left:
/// the errors of Burn's record writer do not say so themselves.
fn with_full_disk(message: String, path: &Path) -> String {
    match free_bytes(path) {
        Some(free) if free < 1 << 20 => format!(
            "{message} — the disk holding {} is full ({free} bytes free)",
            path.display()
        ),
        _ => message,
    }
}

/// Bytes available to this user on the file system holding `path`.
#[cfg(unix)]
#[allow(clippy::useless_conversion)] // statvfs's field types differ between platforms
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `stat` a writable statvfs.
    let ok = unsafe { libc::statvfs(c.as_ptr(), &mut stat) } == 0;
    ok.then(|| u64::from(stat.f_bavail) * u64::from(stat.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_: &Path) -> Option<u64> {
    None
}

/// The model file to evaluate in `dir`: a run directory's latest checkpoint (verified,
/// see [`latest`]), else `dir/model.mpk` (a checkpoint directory itself).
pub fn model_file(dir: &Path) -> Result<PathBuf, String> {
    if checkpoints(dir).join("latest").exists() {
        Ok(latest(dir)?.0.join("model.mpk"))
    } else {
        Ok(dir.join("model.mpk"))
    }
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
    let found = digests(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for (file, digest) in &state.files {
        match found.get(file) {
            Some(d) if d == digest => {}
            Some(_) => {
                return Err(format!(
                    "{} was changed after it was written (its checksum differs from the one in state.json)",
                    dir.join(file).display()
                ))
            }
            None => return Err(format!("{} is missing", dir.join(file).display())),
        }
    }
    Ok((dir, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(iteration: u64) -> State {
        State {
            epoch: 0,
            batch: iteration as usize,
            iteration,
            metrics: Vec::new(),
            partial: (0.0, 0, 0),
            files: Default::default(),
        }
    }

    /// A checkpoint whose writing fails (a kill, a full disk) never appears under a final
    /// name: `latest` still names the previous, complete one; the next save cleans up.
    #[test]
    fn a_half_written_checkpoint_never_has_a_final_name() {
        let run = tempfile::tempdir().unwrap();
        let write =
            |dir: &Path| fs::write(dir.join("model.mpk"), b"weights").map_err(|e| e.to_string());
        save(run.path(), &state(10), write).unwrap();
        let failed = save(run.path(), &state(20), |dir| {
            fs::write(dir.join("model.mpk"), b"half").unwrap();
            Err("killed".into())
        });
        assert!(failed.is_err());
        let root = checkpoints(run.path());
        assert!(!root.join("iter-20").exists());
        assert!(root.join(".iter-20.partial").exists());
        let (dir, s) = latest(run.path()).unwrap();
        assert_eq!(
            (dir.file_name().unwrap().to_str().unwrap(), s.iteration),
            ("iter-10", 10)
        );
        // Saving the same iteration twice keeps the first until `latest` moves.
        save(run.path(), &state(20), write).unwrap();
        let dir = save(run.path(), &state(20), write).unwrap();
        assert_eq!(dir.file_name().unwrap(), "iter-20.1");
        let names: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, ["iter-20.1", "latest"]);

        // A byte flipped in the model is found before anything loads it.
        let model = root.join("iter-20.1/model.mpk");
        let mut bytes = fs::read(&model).unwrap();
        bytes[0] ^= 1;
        fs::write(&model, bytes).unwrap();
        let err = latest(run.path()).unwrap_err();
        assert!(err.contains("model.mpk was changed"), "{err}");
    }
}
