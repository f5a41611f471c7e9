//! The one place runbook calls the OS directly: starting a child in a session of its own, so
//! that a Ctrl-C in runbook's terminal reaches runbook (which then stops the run cleanly)
//! rather than every command at once, and so that `sudo` sees no terminal and allocates none.

#![allow(unsafe_code)]

/// Makes `command`'s child call `setsid()` before it executes.
pub(crate) fn detach_session(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls `setsid`, which
    // is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Like [`detach_session`], and the child also receives SIGTERM when runbook dies, however it
/// dies (SIGKILL included): for helpers that must never outlive a run, such as an SSH master.
///
/// The kernel sends the signal when the *thread* that started the child ends, so call this
/// only from threads that live as long as the run (tokio's worker threads and the thread of
/// `block_on` do; `spawn_blocking` threads do not).
pub(crate) fn detach_session_tied_to_runbook(command: &mut tokio::process::Command) {
    let parent = std::process::id();
    // SAFETY: as in `detach_session`; `prctl` and `getppid` are async-signal-safe as well.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // runbook may have died between fork and prctl: then nobody would signal us.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other("runbook has exited"));
            }
            Ok(())
        });
    }
}

/// The numeric id of the user runbook runs as.
pub(crate) fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The name of the user runbook runs as.
pub(crate) fn current_user() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if uid == 0 {
        return "root".to_string();
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| uid.to_string())
}

/// Discards what was typed on stdin's terminal but not read yet, so that a key pressed while a
/// block ran (a second Enter, say) cannot answer the next prompt before the trainee sees it.
pub(crate) fn discard_typed_ahead() {
    // SAFETY: tcflush takes a descriptor and a constant and touches no memory; on a descriptor
    // that is not a terminal it fails with ENOTTY, which is ignored.
    unsafe {
        libc::tcflush(libc::STDIN_FILENO, libc::TCIFLUSH);
    }
}

/// Whether `signal` was ignored when runbook started (`nohup` ignores SIGHUP): runbook then
/// keeps it ignored, as the user asked, rather than stopping on it.
pub(crate) fn ignored_at_start(signal: i32) -> bool {
    let mut current = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current disposition into `current`, which is
    // valid, writable memory of the right type.
    let read = unsafe { libc::sigaction(signal, std::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: sigaction filled `current` when it returned 0; zeroed memory is a valid
    // sigaction otherwise.
    read == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
}

/// Points runbook's stdout and stderr at `/dev/null` where they are a terminal: after a
/// hang-up the terminal is gone, and a write to it would fail (EIO) in the middle of the
/// run, before the report is written. What runbook still has to say goes into the report.
pub(crate) fn leave_hung_up_terminal() {
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    use std::os::fd::AsRawFd;
    for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: isatty and dup2 take plain descriptors; `null` stays open during the call,
        // and dup2 replaces `fd` atomically, so no other thread sees it closed.
        unsafe {
            if libc::isatty(fd) == 1 {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}

/// Whether reads of `fd` return at once when it has nothing (`O_NONBLOCK`), so that a loop
/// may poll it without ever blocking the thread.
pub(crate) fn is_nonblocking(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: `F_GETFL` only reads the descriptor's flags; `fd` is open for the borrow's life.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    flags != -1 && flags & libc::O_NONBLOCK != 0
}
