//! Writing a formatted file back: `resc fmt` changes the text of a file and nothing
//! else about it.
//!
//! - A symbolic link stays a link: the file it points to (through any chain of links)
//!   is the one rewritten.
//! - A read-only file, or one the user may not write, is refused rather than replaced
//!   (a rename would replace it, since only the directory's permission counts for that).
//! - The new file gets the old one's permissions and, where the user may set it, its
//!   owner and group. Where it may not, or where the file has other hard links, the
//!   text is written into the existing file instead, which keeps all of that.
//!
//! Otherwise the text goes to a temporary file in the same directory that is renamed
//! over the old one, so that the file is never seen half written.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces the text of the file at `path` (or of the file a link at `path` points to)
/// by `text`, keeping its permissions and owner. Refuses a read-only file with a
/// `PermissionDenied` error that says so.
pub fn write_formatted(path: &Path, text: &str) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let metadata = fs::metadata(&target)?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if metadata.permissions().readonly() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the file is read-only; make it writable to format it",
        ));
    }
    // Opening for writing (without truncating) changes nothing, and fails where the
    // user may not write the file even though its directory would allow a rename.
    fs::OpenOptions::new().write(true).open(&target)?;
    if has_other_links(&metadata) {
        return write_in_place(&target, text);
    }
    match write_renaming(&target, text, &metadata)? {
        Renamed::Yes => Ok(()),
        Renamed::WouldChangeOwner | Renamed::DirectoryNotWritable => write_in_place(&target, text),
    }
}

/// Whether other names share the file (a rename would leave them the old text).
#[cfg(unix)]
fn has_other_links(metadata: &fs::Metadata) -> bool {
    std::os::unix::fs::MetadataExt::nlink(metadata) > 1
}

#[cfg(not(unix))]
fn has_other_links(_metadata: &fs::Metadata) -> bool {
    false
}

fn temporary_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.resc-fmt-{}.tmp", std::process::id()))
}

/// What became of a write through a temporary file. The two refusals leave the old
/// file untouched, for [`write_in_place`] to write.
enum Renamed {
    Yes,
    /// A new file cannot have the old one's owner or group.
    WouldChangeOwner,
    /// The directory does not allow a new file (the file itself is writable).
    DirectoryNotWritable,
}

fn write_renaming(target: &Path, text: &str, old: &fs::Metadata) -> io::Result<Renamed> {
    let temp = temporary_name(target);
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp);
    let file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Ok(Renamed::DirectoryNotWritable)
        }
        Err(e) => return Err(e),
    };
    let result = fill_and_rename(file, &temp, target, text, old);
    if !matches!(result, Ok(Renamed::Yes)) {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Writes the new file `temp`, gives it the old one's owner and permissions and
/// renames it over `target`.
fn fill_and_rename(
    mut file: fs::File,
    temp: &Path,
    target: &Path,
    text: &str,
    old: &fs::Metadata,
) -> io::Result<Renamed> {
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let new = file.metadata()?;
        let same_owner = (new.uid(), new.gid()) == (old.uid(), old.gid());
        // Before the permissions: changing the owner may clear set-id bits.
        if !same_owner && std::os::unix::fs::chown(temp, Some(old.uid()), Some(old.gid())).is_err()
        {
            return Ok(Renamed::WouldChangeOwner);
        }
    }
    fs::set_permissions(temp, old.permissions())?;
    fs::rename(temp, target)?;
    Ok(Renamed::Yes)
}

fn write_in_place(target: &Path, text: &str) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(target)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// Issue 15: formatting a link replaced it by a regular file and left the target
    /// unformatted.
    #[test]
    fn a_link_stays_a_link_and_its_target_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.resnet");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.resnet");
        symlink("real.resnet", &link).unwrap();
        let chain = dir.path().join("chain.resnet");
        symlink(&link, &chain).unwrap();
        write_formatted(&chain, "new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(&chain)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(mode(&real), 0o640);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 3, "no temporary file is left");
    }

    #[test]
    fn read_only_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ro.resnet");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).unwrap();
        let err = write_formatted(&file, "new").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("read-only"), "{err}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "old");
        assert_eq!(mode(&file), 0o444);
    }

    #[test]
    fn mode_owner_and_hard_links_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.resnet");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o604)).unwrap();
        // Only root may give a file away; elsewhere the owner is the user already.
        let other = 4321;
        let given = std::os::unix::fs::chown(&file, Some(other), Some(other)).is_ok();
        let before = fs::metadata(&file).unwrap();
        write_formatted(&file, "new").unwrap();
        let after = fs::metadata(&file).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "new");
        assert_eq!(mode(&file), 0o604);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        if given {
            assert_eq!(after.uid(), other);
        }
        let twin = dir.path().join("twin.resnet");
        fs::hard_link(&file, &twin).unwrap();
        write_formatted(&file, "newer").unwrap();
        assert_eq!(fs::read_to_string(&twin).unwrap(), "newer");
    }
}
