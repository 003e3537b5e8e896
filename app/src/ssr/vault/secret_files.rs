//! Files that hold a secret: read only when no other user can read them, written atomically with
//! mode 0600 (a temporary file in the same directory, fsync, rename, fsync of the directory), so a
//! crash leaves either the old file or the new one, never half of one.

use super::VaultError;
use secrecy::zeroize::Zeroizing;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its file name: `identity.txt` + `.new` = `identity.txt.new`.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The file's text, or `None` when it does not exist. Refuses a file that its group or other
/// users may access (any of the mode bits 077).
pub(super) fn read(path: &Path) -> Result<Option<Zeroizing<String>>, VaultError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let metadata = file.metadata().map_err(io_error(path))?;
    check_private(path, &metadata)?;
    // Sized up front so that reading never reallocates and leaves copies of the secret behind.
    let capacity = usize::try_from(metadata.len()).unwrap_or(0) + 1;
    let mut text = Zeroizing::new(String::with_capacity(capacity));
    file.read_to_string(&mut text).map_err(io_error(path))?;
    Ok(Some(text))
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::LoosePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), VaultError> {
    Ok(())
}

/// Writes `contents` to `path` (replacing it if present) with mode 0600, atomically and durably.
pub(crate) fn write(path: &Path, contents: &str) -> Result<(), VaultError> {
    let temp = sibling(path, ".tmp");
    // A leftover from an interrupted write holds nothing that was ever in use.
    match std::fs::remove_file(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_error(&temp)(e)),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(io_error(&temp))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temp))?;
    drop(file);
    rename(&temp, path)
}

/// Renames `from` to `to` (replacing `to`) and makes the rename durable.
pub(super) fn rename(from: &Path, to: &Path) -> Result<(), VaultError> {
    std::fs::rename(from, to).map_err(io_error(to))?;
    sync_dir(to)
}

/// Removes `path` durably; a missing file is fine.
pub(super) fn remove(path: &Path) -> Result<(), VaultError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(path)(e)),
        _ => sync_dir(path),
    }
}

#[cfg(unix)]
fn sync_dir(path: &Path) -> Result<(), VaultError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> Result<(), VaultError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_private_files_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.txt");
        assert!(read(&path).unwrap().is_none());
        write(&path, "one").unwrap();
        assert_eq!(mode(&path), 0o600);
        write(&path, "two").unwrap();
        assert_eq!(read(&path).unwrap().unwrap().as_str(), "two");
        assert!(!sibling(&path, ".tmp").exists());
    }

    #[test]
    fn refuses_files_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.txt");
        write(&path, "x").unwrap();
        for loose in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
            assert!(matches!(
                read(&path),
                Err(VaultError::LoosePermissions { mode, .. }) if mode == loose
            ));
        }
    }

    #[test]
    fn sibling_appends_to_the_file_name() {
        assert_eq!(
            sibling(Path::new("data/identity.txt"), ".new"),
            Path::new("data/identity.txt.new")
        );
    }
}
