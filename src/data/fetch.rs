//! Downloading CIFAR (`resc data fetch`): the official archive is streamed to a `.part` file
//! next to its destination while its MD5 is computed; only an archive with the expected
//! checksum is unpacked, into a temporary directory in the same place, whose dataset
//! directory is checked and then renamed into place. So an interrupted or corrupt download
//! is never taken for good data, an existing dataset is replaced only by a complete one, and
//! running the command again after a failure simply starts over.
//!
//! This module prints nothing: it reports what happens through a callback ([`Event`]).

use super::cifar::Kind;
use super::Diagnostic;
use crate::diag::Code;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The official archive of `kind`: its URL and MD5 checksum (from the CIFAR page).
pub fn official(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Cifar10 => (
            "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            "c32a1d4ab5d03f1284b67883e8d87530",
        ),
        Kind::Cifar100 => (
            "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
            "03b5dce01913d631647c71ecec9e9cb8",
        ),
    }
}

/// What [`fetch`] is doing, for progress output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The dataset is already in place and complete; nothing is downloaded.
    AlreadyPresent(PathBuf),
    /// The download started; `total` is the size the server announced.
    Started { url: String, total: Option<u64> },
    /// `bytes` received so far.
    Progress { bytes: u64 },
    /// The whole archive arrived and its checksum matched.
    Verified { bytes: u64 },
    /// The archive is being unpacked.
    Unpacking,
    /// The dataset is in place at this directory.
    Done(PathBuf),
}

/// Where and how to fetch.
#[derive(Clone, Debug)]
pub struct Request {
    pub kind: Kind,
    /// The directory the dataset directory (`cifar-10-batches-bin/`) goes in.
    pub dir: PathBuf,
    pub url: String,
    /// The expected MD5, lower-case hex.
    pub md5: String,
    /// Download even when the dataset is already present.
    pub force: bool,
}

impl Request {
    /// Fetches the official archive of `kind` into `dir`.
    pub fn official(kind: Kind, dir: &Path) -> Request {
        let (url, md5) = official(kind);
        Request {
            kind,
            dir: dir.to_path_buf(),
            url: url.to_string(),
            md5: md5.to_string(),
            force: false,
        }
    }
}

/// Downloads, verifies and unpacks; returns the dataset directory.
pub fn fetch(request: &Request, on_event: &mut dyn FnMut(Event)) -> Result<PathBuf, Diagnostic> {
    let kind = request.kind;
    let target = request.dir.join(kind.dir_name());
    if !request.force && complete(kind, &target).is_ok() {
        on_event(Event::AlreadyPresent(target.clone()));
        return Ok(target);
    }
    fs::create_dir_all(&request.dir).map_err(|e| {
        unpack_error(
            format!("cannot create `{}`: {e}", request.dir.display()),
            &request.dir,
        )
    })?;
    // A fixed name (not taken from the URL): a rerun replaces what a failed run left.
    let part = request.dir.join(format!("{}.tar.gz.part", kind.dir_name()));
    let result = download(request, &part, on_event).and_then(|bytes| {
        on_event(Event::Verified { bytes });
        on_event(Event::Unpacking);
        unpack(kind, &part, &request.dir, &target)
    });
    // Whatever happened, the download is of no further use: a bad one must not linger and
    // a good one has been unpacked.
    let _ = fs::remove_file(&part);
    result?;
    on_event(Event::Done(target.clone()));
    Ok(target)
}

/// Checks that `dir` holds every file of `kind` with a plausible size (no reading).
pub fn complete(kind: Kind, dir: &Path) -> Result<(), Diagnostic> {
    for name in kind.train_files().iter().chain(kind.test_files()) {
        let path = dir.join(name);
        match fs::metadata(&path) {
            Ok(m) if m.is_file() && m.len() > 0 && m.len() % kind.record_len() as u64 == 0 => {}
            Ok(m) => {
                return Err(Diagnostic::error(
                    Code::E0603,
                    format!(
                        "`{}` is truncated: {} bytes is not a whole number of {}-byte records",
                        path.display(),
                        m.len(),
                        kind.record_len()
                    ),
                )
                .file(&path))
            }
            Err(_) => {
                return Err(Diagnostic::error(
                    Code::E0602,
                    format!("`{}` is missing", path.display()),
                )
                .file(&path))
            }
        }
    }
    Ok(())
}

fn download_error(message: String, url: &str) -> Diagnostic {
    Diagnostic::error(Code::E0608, message)
        .note(format!("URL: {url}"))
        .hint("check the network connection and run the command again")
}

fn unpack_error(message: String, path: &Path) -> Diagnostic {
    Diagnostic::error(Code::E0610, message).file(path)
}

/// Streams the archive into `part`, checking its length and MD5; returns its size.
fn download(
    request: &Request,
    part: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<u64, Diagnostic> {
    let url = request.url.as_str();
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .build();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, response) => download_error(
            format!("the server answered {code} {}", response.status_text()),
            url,
        ),
        ureq::Error::Transport(t) => download_error(format!("cannot download: {t}"), url),
    })?;
    let total = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    on_event(Event::Started {
        url: url.to_string(),
        total,
    });
    let mut file = File::create(part)
        .map_err(|e| unpack_error(format!("cannot write `{}`: {e}", part.display()), part))?;
    let mut reader = response.into_reader();
    let mut context = md5::Context::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    let lost = |bytes: u64, why: String| {
        download_error(
            format!(
                "the download stopped after {bytes}{} bytes: {why}",
                total.map(|t| format!(" of {t}")).unwrap_or_default()
            ),
            url,
        )
        .note("nothing was unpacked; the partial download was deleted")
    };
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(lost(bytes, e.to_string())),
        };
        context.consume(&buffer[..n]);
        file.write_all(&buffer[..n])
            .map_err(|e| unpack_error(format!("cannot write `{}`: {e}", part.display()), part))?;
        bytes += n as u64;
        on_event(Event::Progress { bytes });
    }
    if total.is_some_and(|t| t != bytes) {
        return Err(lost(bytes, "the connection closed early".into()));
    }
    file.sync_all()
        .map_err(|e| unpack_error(format!("cannot write `{}`: {e}", part.display()), part))?;
    let digest = format!("{:x}", context.finalize());
    if !digest.eq_ignore_ascii_case(request.md5.trim()) {
        return Err(Diagnostic::error(
            Code::E0609,
            format!("the archive's MD5 is {digest}, not {}", request.md5.trim()),
        )
        .note(format!("URL: {url} ({bytes} bytes)"))
        .note("the archive was deleted and nothing was unpacked")
        .hint(
            "run the command again; if it keeps failing, the server or a proxy serves another file",
        ));
    }
    Ok(bytes)
}

/// Unpacks `archive` into a fresh directory inside `dir`, checks the dataset directory in it
/// and moves that to `target` (replacing an old one only once the new one is complete).
fn unpack(kind: Kind, archive: &Path, dir: &Path, target: &Path) -> Result<(), Diagnostic> {
    let prefix = format!(".resc-unpack-{}-", kind.name());
    // Leftovers of runs that were killed while unpacking.
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    let temp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = unpack_into(kind, archive, &temp, target);
    let _ = fs::remove_dir_all(&temp);
    result
}

fn unpack_into(kind: Kind, archive: &Path, temp: &Path, target: &Path) -> Result<(), Diagnostic> {
    fs::create_dir_all(temp)
        .map_err(|e| unpack_error(format!("cannot create `{}`: {e}", temp.display()), temp))?;
    let file = File::open(archive)
        .map_err(|e| unpack_error(format!("cannot read `{}`: {e}", archive.display()), archive))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(temp)
        .map_err(|e| {
            unpack_error(format!("cannot unpack the archive: {e}"), archive)
                .hint("check the free space and permissions of the data directory")
        })?;
    let unpacked = temp.join(kind.dir_name());
    if !unpacked.is_dir() {
        return Err(unpack_error(
            format!("the archive holds no `{}/` directory", kind.dir_name()),
            archive,
        )
        .hint("check that --url names the official binary archive"));
    }
    complete(kind, &unpacked).map_err(|e| {
        unpack_error(format!("the archive is incomplete: {}", e.message), archive)
            .hint("check that --url names the official binary archive")
    })?;
    // Move an old dataset aside first: a directory cannot be renamed over a non-empty one.
    let old = temp.join("previous");
    if target.exists() {
        fs::rename(target, &old).map_err(|e| {
            unpack_error(
                format!("cannot replace `{}`: {e}", target.display()),
                target,
            )
        })?;
    }
    if let Err(e) = fs::rename(&unpacked, target) {
        let _ = fs::rename(&old, target);
        return Err(unpack_error(
            format!("cannot move the dataset to `{}`: {e}", target.display()),
            target,
        ));
    }
    Ok(())
}
