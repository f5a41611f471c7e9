//! Headless Chromium as the tests drive it: the flags this project uses (a fresh profile, no
//! network services), a watchdog against a wedged browser, and the DOM after scripts ran.
//! Chromium is required: scripts/setup-test-machine installs it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs headless Chromium with the flags this project uses (a fresh profile, no network
/// services); returns (stdout, stderr). Fails loudly when Chromium is missing.
pub fn chromium(extra: &[&str], profile: &Path) -> (String, String) {
    let mut command = Command::new("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-default-browser-check",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap_or_else(|error| {
        panic!(
            "chromium is required for this test (scripts/setup-test-machine installs it): {error}"
        )
    });
    let pid = child.id();
    let started = Instant::now();
    // A watchdog, so a wedged browser fails the test instead of hanging it.
    let watchdog = std::thread::spawn(move || {
        while started.elapsed() < Duration::from_secs(90) {
            std::thread::sleep(Duration::from_millis(200));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
        }
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let output = child.wait_with_output().expect("chromium runs");
    let _ = watchdog.join();
    assert!(output.status.success(), "chromium failed: {output:?}");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Loads `page` (a path, optionally followed by `#fragment`) and returns its DOM as Chromium
/// serialises it after scripts (if any) ran, and the console messages it logged. `extra`:
/// more flags, such as `--virtual-time-budget=MS` to let a page's timers run.
pub fn load(page: &Path, scratch: &Path, extra: &[&str]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir_in(scratch).expect("profile dir");
    let mut flags = extra.to_vec();
    let url = format!("file://{}", page.display());
    flags.extend(["--dump-dom", url.as_str()]);
    let (dom, log) = chromium(&flags, profile.path());
    let console = log
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (dom, console)
}
