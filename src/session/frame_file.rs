//! A local session's frames, written to a file the shell sources instead of through its stdin.
//!
//! Why: bash reads commands from a pipe one byte per read(2) (it must not read past a command
//! that reads stdin itself), so every byte of a frame sent through the shell's stdin costs a
//! system call and a turn of bash's reader; a regular file is read whole by `.` in a few calls.
//! A local shell without a user switch runs on this machine as runbook's own user, so it can
//! read a file runbook writes; a remote shell could only read one written there first (another
//! round trip), so remote sessions keep the frame on stdin (see [`super::protocol::frame`]).
//!
//! The file has no name in any folder (an unnamed temporary file, `O_TMPFILE` where the file
//! system has it): the shell opens it as `/proc/RUNBOOK_PID/fd/N`, so a block listing `/tmp`
//! or the environment sees nothing of it, and it is gone when runbook exits, however it exits.
//! runbook's descriptor is close-on-exec, so no command a block runs holds it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

/// The file one session's frames are written to, one frame at a time.
#[derive(Debug)]
pub(crate) struct FrameFile {
    file: File,
    /// The path the shell opens it by.
    path: String,
}

impl FrameFile {
    /// The shortest script sent through the file. Opening the file by its `/proc` path costs
    /// about as much as reading a few dozen bytes one at a time: measured on 3000 blocks of
    /// `echo line N` (frames of about 60 bytes), the file was no faster than stdin, while on
    /// 300 blocks of 4.5 KB it took the run from 0.8 s to 0.3 s (BENCHMARKS.md).
    pub(crate) const SMALLEST: usize = 256;

    /// An unnamed file in the temporary folder; `None` if none can be made (the session then
    /// sends its frames on the shell's stdin, as to a remote host).
    pub(crate) fn create() -> Option<Self> {
        let file = tempfile::tempfile().ok()?;
        let path = format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd());
        Some(FrameFile { file, path })
    }

    /// Where the shell reads it.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Replaces the file's content with `frame`. Written before the line that makes the shell
    /// read it, so the shell always reads the whole frame.
    pub(crate) fn write(&self, frame: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(frame, 0)?;
        // A shorter frame than the last one must not leave the end of the last one behind.
        self.file.set_len(frame.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_replaces_the_last_one_whole() {
        let file = FrameFile::create().expect("a temporary file");
        file.write(b"a longer first frame\n").expect("written");
        file.write(b"short\n").expect("written");
        assert_eq!(
            std::fs::read_to_string(file.path()).expect("readable by its path"),
            "short\n"
        );
    }
}
