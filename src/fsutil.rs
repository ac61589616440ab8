//! Every file loadgate writes goes through [`write_atomic`]: nothing already stored is lost or
//! half-written by a failed or interrupted run. Only a regular file (or a new one) is replaced
//! through a temporary file and a rename; `-`, a device, a pipe or a kernel file is written in
//! place, since renaming over `/dev/null` would replace the device node itself.

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
    if matches!(destination(path), Destination::Direct(_)) {
        return format!(
            "{} is not a regular file (a device, pipe or kernel file) and refused the write; give the path of a regular file, or `-` for stdout",
            path.display()
        );
    }
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

/// Where the bytes for a path go.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// `-`, `/dev/stdout` and the like: this process's stdout.
    Stdout,
    /// A device, pipe, socket or kernel file: opened and written in place, never replaced.
    Direct(PathBuf),
    /// A regular file, or one that does not exist yet: replaced atomically. A symbolic link to a
    /// regular file is followed, so the link stays and its target gets the new bytes.
    Atomic(PathBuf),
}

/// Folders whose files are not stored data: what is written there goes to the kernel or a device.
const SPECIAL_ROOTS: [&str; 3] = ["/dev", "/proc", "/sys"];

/// Classifies `path` by what is there now (nothing written, nothing created).
pub fn destination(path: &Path) -> Destination {
    const STDOUT: [&str; 4] = ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];
    if STDOUT.iter().any(|s| path == Path::new(s)) {
        return Destination::Stdout;
    }
    let special = |p: &Path| SPECIAL_ROOTS.iter().any(|r| p.starts_with(r));
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return match special(path) {
            true => Destination::Direct(path.to_path_buf()),
            false => Destination::Atomic(path.to_path_buf()),
        };
    };
    if special(path) {
        return Destination::Direct(path.to_path_buf());
    }
    if meta.file_type().is_symlink() {
        // The link itself must survive: the write goes to its target, which is judged in turn
        // (a link to /dev/null is written in place; one to a stored file, atomically).
        return match std::fs::canonicalize(path) {
            Ok(target) if !special(&target) && target.is_file() => Destination::Atomic(target),
            _ => Destination::Direct(path.to_path_buf()),
        };
    }
    match meta.is_file() || meta.is_dir() {
        true => Destination::Atomic(path.to_path_buf()),
        false => Destination::Direct(path.to_path_buf()),
    }
}

/// Writes `bytes` to `path`: atomically for a regular file ([`Destination`]), in place for a
/// device or pipe, to stdout for `-`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    match destination(path) {
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush()).map_err(err)
        }
        Destination::Direct(p) => std::fs::OpenOptions::new()
            // Appending: a `/dev/stderr` that is a log file keeps what was already written.
            .append(true)
            .open(p)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(err),
        Destination::Atomic(p) => replace(&p, bytes).map_err(err),
    }
}

/// Replaces `path` atomically: a temporary file in the same directory, fsync, rename. Readers see
/// the old content or the new, never a mix; on error the old file is untouched.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".loadgate-")
        .suffix(".tmp")
        .tempfile_in(dir_of(path))?;
    // Through the `File`: `NamedTempFile`'s own `Write` adds the temp file's path to the error, and
    // the message must name the destination, not a file that no longer exists.
    tmp.as_file_mut().write_all(bytes)?;
    // tempfile creates 0600 files; a report or baseline should get the permissions the file already
    // had, or the usual 0644 for a new one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Checks, before any load, that `path` can be written later: its directory exists and accepts a
/// new file, or the device opens for writing. Nothing is left behind.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let target = match destination(path) {
        Destination::Stdout => return Ok(()),
        // A pipe is not opened here: opening it for writing waits for a reader.
        Destination::Direct(p) if is_fifo(&p) => return Ok(()),
        Destination::Direct(p) => {
            // Root opens a kernel file like /proc/version for writing and fails only on the write:
            // a file nobody may write is refused here, before any load.
            if read_only_for_all(&p) {
                return Err(err(std::io::ErrorKind::PermissionDenied.into()));
            }
            return std::fs::OpenOptions::new()
                .append(true)
                .open(&p)
                .map(drop)
                .map_err(err);
        }
        Destination::Atomic(p) => p,
    };
    if target.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    tempfile::Builder::new()
        .prefix(".loadgate-probe-")
        .tempfile_in(dir_of(&target))
        .map(drop)
        // Keep the kind (permission denied, not found), not tempfile's message naming its probe file.
        .map_err(|e| err(std::io::Error::from(e.kind())))
}

/// The most a file of each kind may hold (docs/guide.md, "What happens when things go wrong"): far above
/// anything loadgate writes or a user means, far below what would exhaust memory.
pub mod limits {
    /// A scenario file.
    pub const SCENARIO: u64 = 4 << 20;
    /// A feeder's CSV file (held in memory for the run).
    pub const FEEDER: u64 = 256 << 20;
    /// A PEM file of CA certificates.
    pub const CA_FILE: u64 = 4 << 20;
    /// A stored result: a baseline, a `--out` file, a history entry, a calibration, a report.
    pub const RESULT: u64 = 512 << 20;
    /// The GitHub event file.
    pub const EVENT: u64 = 64 << 20;
}

/// Reads `path` whole, when it is a regular file of at most `cap` bytes: a device (`/dev/zero`),
/// a pipe or a file larger than `cap` is an error naming the problem, never an endless read or an
/// allocation failure.
pub fn read_limited(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let not_regular = || {
        Error::new(
            ErrorKind::InvalidInput,
            "it is not a regular file (a device or a pipe)",
        )
    };
    let too_big = |len: u64| {
        Error::new(
            ErrorKind::InvalidData,
            format!("it holds {len} bytes or more, over the {cap} bytes such a file may hold"),
        )
    };
    // Checked before opening: opening a pipe for reading waits for a writer.
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(Error::new(
            ErrorKind::IsADirectory,
            "it is a directory, not a file",
        ));
    }
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > cap {
        return Err(too_big(meta.len()));
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    // A file that grows while it is read stops at the cap all the same.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_limited`], as UTF-8 text.
pub fn read_text_limited(path: &Path, cap: u64) -> std::io::Result<String> {
    String::from_utf8(read_limited(path, cap)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

#[cfg(unix)]
fn read_only_for_all(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o222 == 0)
}

#[cfg(not(unix))]
fn read_only_for_all(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly())
}

#[cfg(unix)]
fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket())
}

#[cfg(not(unix))]
fn is_fifo(_: &Path) -> bool {
    false
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
    fn devices_pipes_and_stdout_are_written_in_place_never_replaced() {
        let d = |p: &str| destination(Path::new(p));
        assert_eq!(d("-"), Destination::Stdout);
        assert_eq!(d("/dev/stdout"), Destination::Stdout);
        assert_eq!(d("/dev/null"), Destination::Direct("/dev/null".into()));
        assert_eq!(
            d("/proc/version"),
            Destination::Direct("/proc/version".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.json");
        assert_eq!(destination(&file), Destination::Atomic(file.clone()));
        write_atomic(&file, b"old").unwrap();
        #[cfg(unix)]
        {
            // A link to a stored file stays a link; its target gets the bytes.
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            write_atomic(&link, b"new").unwrap();
            assert!(std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(std::fs::read(&file).unwrap(), b"new");
            // A link to a device is written in place.
            let null = dir.path().join("null");
            std::os::unix::fs::symlink("/dev/null", &null).unwrap();
            assert_eq!(destination(&null), Destination::Direct(null.clone()));
            write_atomic(&null, b"gone").unwrap();
            assert!(std::fs::symlink_metadata(&null)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        write_atomic(Path::new("/dev/null"), b"x").unwrap();
        assert!(check_writable(Path::new("/dev/null")).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let meta = std::fs::metadata("/dev/null").unwrap();
            assert!(meta.file_type().is_char_device());
        }
    }

    #[test]
    fn a_kernel_file_that_refuses_the_write_is_not_blamed_on_its_folder() {
        let e = WriteError {
            path: "/proc/version".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        }
        .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        assert!(!e.contains("check that the directory exists"), "{e}");
    }

    #[test]
    fn only_a_regular_file_within_its_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_limited(&p, 10).unwrap(), b"0123456789");
        let e = read_limited(&p, 9).unwrap_err().to_string();
        assert!(e.contains("over the 9 bytes"), "{e}");
        let e = read_limited(Path::new("/dev/zero"), 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read_limited(dir.path(), 10).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
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
