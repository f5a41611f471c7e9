//! Reading a file the user gave (a chapter, SUMMARY.md, the inventory, an expected file):
//! only a regular file, and only up to [`MAX_FILE_SIZE`]. A FIFO would block the read
//! forever, a device would never end, a directory cannot be read: each is refused with a
//! message instead, before anything runs. And writing one for the user (a report, a blessed
//! expected file, a trainee's progress) atomically ([`write_atomically`]).

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The largest file runbook reads (documented in docs/src/chapters.md): far above any chapter,
/// inventory or expected output a workshop holds, small enough to read at once.
pub(crate) const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Why a user's file could not be read: the message and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    pub(crate) message: String,
    pub(crate) hint: String,
}

/// What kind of non-regular file `kind` is, in words.
fn kind_in_words(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// The bytes of the regular file at `path` (a symlink is followed), or why not.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Unreadable> {
    let shown = path.display();
    let cannot = |error: std::io::Error| Unreadable {
        message: format!("cannot read `{shown}`: {error}"),
        hint: "check that the file exists and that runbook may read it".into(),
    };
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    // It changes nothing for a regular file.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_dir() => not_regular(path, metadata.file_type()),
            _ => cannot(error),
        })?;
    let metadata = file.metadata().map_err(cannot)?;
    if !metadata.is_file() {
        return Err(not_regular(path, metadata.file_type()));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(too_large(path, metadata.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The size is read again while reading: a file that grows meanwhile is still bounded.
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large(path, bytes.len() as u64));
    }
    Ok(bytes)
}

fn not_regular(path: &Path, kind: std::fs::FileType) -> Unreadable {
    Unreadable {
        message: format!(
            "`{}` is {}, not a regular file",
            path.display(),
            kind_in_words(kind)
        ),
        hint: "runbook reads only regular files: replace it with a file, or fix the name".into(),
    }
}

fn too_large(path: &Path, size: u64) -> Unreadable {
    Unreadable {
        message: format!(
            "`{}` is too large ({size} bytes; runbook reads files of at most {} MiB)",
            path.display(),
            MAX_FILE_SIZE / (1024 * 1024)
        ),
        hint: "split it, or check that this is the file you meant".into(),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a reader never
/// sees half a file and an interrupted run leaves the previous file whole.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".runbook-")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    temporary.write_all(bytes)?;
    // tempfile creates files readable by their owner only; reports and expected files are
    // meant to be read (and committed) like any other file.
    let mode = std::fs::metadata(path).map_or(0o644, |existing| {
        std::os::unix::fs::PermissionsExt::mode(&existing.permissions())
    });
    std::fs::set_permissions(
        temporary.path(),
        std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
    )?;
    // No fsync: the rename makes the write atomic for readers, which is what matters here;
    // surviving a power cut mid-run is not, and fsync costs milliseconds per file.
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_a_directory_and_a_device_are_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("pipe.out");
        let made = crate::sys::std_command("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo");
        let started = std::time::Instant::now();
        let refused = read(&fifo).expect_err("a FIFO is refused");
        assert!(
            refused.message.contains("a named pipe (FIFO)"),
            "{refused:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let directory = read(dir.path()).expect_err("a directory is refused");
        assert!(directory.message.contains("a directory"), "{directory:?}");
        let device = read(Path::new("/dev/zero")).expect_err("a device is refused");
        assert!(device.message.contains("a device"), "{device:?}");
        std::fs::write(dir.path().join("ok"), "fine").expect("write");
        assert_eq!(read(&dir.path().join("ok")).expect("a file"), b"fine");
    }
}
