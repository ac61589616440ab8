//! Every file loadgate writes goes through [`write_atomic`]: nothing already stored is lost or
//! half-written by a failed or interrupted run.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file could not be written; names the path, and the fix that fits the cause.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}; {}", path.display(), fix(path, source))]
pub struct WriteError {
    /// The destination.
    pub path: PathBuf,
    /// Cause.
    #[source]
    pub source: std::io::Error,
}

/// What to do about `source` when writing `path`: a read-only folder and a full disk need different fixes, and the usual
/// "check the directory" would send the user after the wrong one.
pub(crate) fn fix(path: &Path, source: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let dir = dir_of(path).display();
    match source.kind() {
        K::ReadOnlyFilesystem | K::PermissionDenied => {
            format!("make the folder {dir} writable (or write somewhere else) and run again")
        }
        K::StorageFull | K::FileTooLarge | K::QuotaExceeded => format!(
            "free some space on the disk holding {dir} (or raise the file size limit, `ulimit -f`) and run again"
        ),
        _ => "check that the directory exists and is writable".to_string(),
    }
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename.
/// Readers see the old content or the new, never a mix; on error the old file is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".loadgate-")
        .suffix(".tmp")
        .tempfile_in(dir_of(path))
        .map_err(err)?;
    // Through the `File`: `NamedTempFile`'s own `Write` adds the temp file's path to the error, and
    // the message must name the destination, not a file that no longer exists.
    tmp.as_file_mut().write_all(bytes).map_err(err)?;
    // tempfile creates 0600 files; a report or baseline should get the permissions the file already
    // had, or the usual 0644 for a new one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Checks, before any load, that `path` can be written later: its directory exists and accepts a
/// new file. Nothing is left behind.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    if path.is_dir() {
        return Err(WriteError {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"),
        });
    }
    tempfile::Builder::new()
        .prefix(".loadgate-probe-")
        .tempfile_in(dir_of(path))
        .map(drop)
        // Keep the kind (permission denied, not found), not tempfile's message naming its probe file.
        .map_err(|e| WriteError {
            path: path.to_path_buf(),
            source: std::io::Error::from(e.kind()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new content").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new content");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o644
            );
        }
    }

    #[test]
    fn the_fix_fits_the_cause() {
        use std::io::{Error, ErrorKind};
        let p = Path::new("baselines/t.json");
        let msg = |kind| {
            WriteError {
                path: p.to_path_buf(),
                source: Error::from(kind),
            }
            .to_string()
        };
        assert!(msg(ErrorKind::ReadOnlyFilesystem).contains("make the folder baselines writable"));
        assert!(msg(ErrorKind::PermissionDenied).contains("make the folder baselines writable"));
        assert!(
            msg(ErrorKind::FileTooLarge).contains("free some space on the disk holding baselines")
        );
        assert!(msg(ErrorKind::StorageFull).contains("free some space"));
        assert!(msg(ErrorKind::NotFound).contains("check that the directory exists"));
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/a.json");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("nope/a.json"));
        assert!(check_writable(&p).is_err());
        assert!(check_writable(&dir.path().join("ok.json")).is_ok());
    }
}
