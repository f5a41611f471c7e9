//! The one place runbook calls the OS directly: starting a child in a session of its own, so
//! that a Ctrl-C in runbook's terminal reaches runbook (which then stops the run cleanly)
//! rather than every command at once, and so that `sudo` sees no terminal and allocates none;
//! runbook's own scheduling policy, and children started without it.

#![allow(unsafe_code)]

/// Whether runbook moved its own thread to `SCHED_BATCH` (see [`wake_without_preempting`]):
/// its children then go back to `SCHED_OTHER` before they execute.
static BATCH_POLICY_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks the kernel not to let runbook's thread preempt the running task when it wakes
/// (`SCHED_BATCH`, which any user may choose; nice value and CPU share unchanged).
///
/// Why: a block's output wakes runbook as soon as the shell writes it; on a CPU shared with the
/// shell, a wake-up that preempts the shell costs two context switches for output that is
/// not the end of the block yet (runbook reads it, finds no end marker and sleeps again).
/// Not preempting, runbook runs when the shell waits for its next order, and reads the
/// output and the end marker at once: two switches a block instead of four. Only a thread
/// on the default policy is moved (one started with `chrt` keeps what it was given), and only
/// the thread that calls it: call it from the thread that runs the sessions, before any child
/// is started. Returns whether the policy was changed.
pub(crate) fn wake_without_preempting() -> bool {
    // SAFETY: sched_getscheduler and sched_setscheduler take the calling thread (0) and a
    // valid parameter struct; they touch no other memory.
    let moved = unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_getscheduler(0) == libc::SCHED_OTHER
            && libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) == 0
    };
    if moved {
        BATCH_POLICY_SET.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    moved
}

/// A command for `program` whose child runs under the scheduling policy runbook was started
/// with, not the one [`wake_without_preempting`] chose for runbook itself: a block's
/// commands, a PostgreSQL it starts, `lxc-attach` and what it attaches must be scheduled as
/// they would be without runbook. Every child runbook starts is made here (clippy's
/// `disallowed_methods` refuses `Command::new` elsewhere in the crate).
pub(crate) fn command(program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
    tokio::process::Command::from(std_command(program))
}

/// [`command`] for a child waited for without the runtime (a parse check, a test's helper).
pub(crate) fn std_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    #[allow(clippy::disallowed_methods)]
    let mut command = std::process::Command::new(program);
    if BATCH_POLICY_SET.load(std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: the closure runs in the forked child before exec and only calls
        // sched_setscheduler, a plain system call on the child itself.
        unsafe {
            command.pre_exec(restore_default_policy);
        }
    }
    command
}

/// Puts the calling process back on `SCHED_OTHER`; runs in a forked child before exec.
fn restore_default_policy() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a system call on the calling process with a valid parameter struct.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scheduling policy of the calling thread (`libc::SCHED_OTHER`, `libc::SCHED_BATCH`).
    fn scheduling_policy() -> i32 {
        // SAFETY: sched_getscheduler reads the calling thread's policy and touches no memory.
        unsafe { libc::sched_getscheduler(0) }
    }

    /// The scheduling policy (field 41 of `/proc/PID/stat`) of the child `command` starts,
    /// which prints its own stat line.
    fn policy_of_child(mut command: std::process::Command) -> i32 {
        let output = command
            .args(["-c", "cat /proc/$$/stat"])
            .output()
            .expect("sh runs");
        let stat = String::from_utf8_lossy(&output.stdout).into_owned();
        // Fields after the command name in parentheses start at field 3.
        let after_name = stat.rsplit_once(')').expect("a stat line").1;
        after_name
            .split_whitespace()
            .nth(41 - 3)
            .and_then(|field| field.parse().ok())
            .unwrap_or_else(|| panic!("no policy in {stat:?}"))
    }

    #[test]
    fn runbook_wakes_without_preempting_and_its_children_run_as_usual() {
        // A thread of its own: the policy is the calling thread's.
        std::thread::spawn(|| {
            assert_eq!(scheduling_policy(), libc::SCHED_OTHER);
            assert!(wake_without_preempting(), "any user may choose SCHED_BATCH");
            assert_eq!(scheduling_policy(), libc::SCHED_BATCH);
            // Without the reset a child inherits the policy: what the reset undoes.
            #[allow(clippy::disallowed_methods)]
            let inheriting = std::process::Command::new("sh");
            assert_eq!(policy_of_child(inheriting), libc::SCHED_BATCH);
            assert_eq!(policy_of_child(std_command("sh")), libc::SCHED_OTHER);
            // Asked again, a thread already moved is left as it is.
            assert!(!wake_without_preempting());
        })
        .join()
        .expect("the checks pass");
    }

    #[test]
    fn a_runtime_child_is_reset_too() {
        std::thread::spawn(|| {
            wake_without_preempting();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let script = "cut -d' ' -f41 /proc/$$/stat";
            let output = runtime
                .block_on(async { command("sh").args(["-c", script]).output().await })
                .expect("sh runs");
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "0");
        })
        .join()
        .expect("the check passes");
    }
}
