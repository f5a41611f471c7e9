//! Hung and lost hosts, through the real binary on the local host: a session frozen with
//! SIGSTOP mid-command, a run interrupted by SIGINT, SIGTERM, SIGHUP or SIGQUIT, and a block
//! that prints 100 MB. Every case must end, write a complete report and leave no process behind.

#![allow(clippy::print_stderr)] // The tests print what they measured (durations, process counts, peak memory).

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use runbook::report::model::{AttemptResult, Outcome, RunStatus};

/// One line of /proc/<pid>/stat, the fields these tests need.
#[derive(Debug, Clone)]
struct Process {
    pid: u32,
    parent: u32,
    session: u32,
    state: char,
    name: String,
}

fn processes() -> Vec<Process> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (name) state ppid pgrp session ...": the name may hold spaces and parens.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        if fields.len() < 4 {
            continue;
        }
        found.push(Process {
            pid,
            parent: fields[1].parse().unwrap_or(0),
            session: fields[3].parse().unwrap_or(0),
            state: fields[0].chars().next().unwrap_or('?'),
            name: stat[open + 1..close].to_string(),
        });
    }
    found
}

/// The sessions of the shells runbook (`pid`) started: one per (host, user).
fn shell_sessions(pid: u32) -> Vec<u32> {
    processes()
        .iter()
        .filter(|process| process.parent == pid && process.name == "bash")
        .map(|process| process.session)
        .collect()
}

/// Live processes in these sessions. A zombie is not counted: it has ended, and once its
/// parent (bash, killed with it) is gone it waits for PID 1 to collect its status, which this
/// machine's init does lazily.
fn in_sessions(sessions: &[u32]) -> Vec<Process> {
    processes()
        .into_iter()
        .filter(|process| sessions.contains(&process.session))
        .filter(|process| !matches!(process.state, 'Z' | 'X'))
        .collect()
}

#[track_caller]
fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the run to end (killing it and failing after `limit`); returns its exit code.
fn wait_exit(child: &mut Child, limit: Duration) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("runbook did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn(lab: &Lab, args: &[&str]) -> Child {
    let stdout = std::fs::File::create(lab.path().join("stdout.txt")).expect("stdout file");
    let stderr = std::fs::File::create(lab.path().join("stderr.txt")).expect("stderr file");
    lab.command(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start runbook")
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

fn attempt(lab: &Lab, id: &str) -> AttemptResult {
    lab.attempt(id)
}

/// The three report files exist and are whole (JSON parses, HTML and XML end properly).
#[track_caller]
fn assert_report_complete(lab: &Lab) {
    let _ = lab.report();
    assert!(
        lab.read("report/index.html")
            .trim_end()
            .ends_with("</html>")
    );
    assert!(
        lab.read("report/junit.xml")
            .trim_end()
            .ends_with("</testsuites>")
    );
}

const FROZEN_CHAPTER: &str = "```bash id=frozen timeout=3s\ntouch started\nsleep 3173\n```\n\n```bash id=after\necho still here\n```\n\n```console\nstill here\n```\n";

/// Starts a run whose first block is frozen with SIGSTOP (the shell and its command, as a
/// frozen host would be) once it is running. Returns the run, its shells' sessions and when
/// the freeze happened.
fn run_and_freeze(lab: &Lab, args: &[&str]) -> (Child, Vec<u32>) {
    lab.chapter("01.md", FROZEN_CHAPTER);
    let mut child = spawn(lab, args);
    let pid = child.id();
    wait_until("the block starts", Duration::from_secs(20), || {
        lab.path().join("started").exists()
    });
    let sessions = shell_sessions(pid);
    assert_eq!(sessions.len(), 1, "one local shell");
    wait_until("sleep runs", Duration::from_secs(10), || {
        in_sessions(&sessions).iter().any(|p| p.name == "sleep")
    });
    for process in in_sessions(&sessions) {
        signal(process.pid, "STOP");
    }
    wait_until("the session is frozen", Duration::from_secs(5), || {
        in_sessions(&sessions).iter().all(|p| p.state == 'T')
    });
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "still running"
    );
    (child, sessions)
}

#[test]
fn a_frozen_session_times_out_and_the_run_goes_on_with_a_new_shell() {
    let lab = Lab::new();
    let (mut child, sessions) = run_and_freeze(
        &lab,
        &["verify", "workshop", "--keep-going", "--grace", "1s"],
    );
    let code = wait_exit(&mut child, Duration::from_secs(60));
    assert_eq!(code, 1, "{}", lab.read("stdout.txt"));
    let frozen = attempt(&lab, "01/frozen");
    assert_eq!(frozen.outcome, Outcome::Timeout);
    let took = frozen.duration_ms;
    eprintln!("frozen block ended as timeout after {took} ms (timeout 3 s, grace 1 s)");
    // A sanity bound only: timeout 3 s + grace 1 s + the KILL wait and the shell's end.
    assert!(took < 15_000, "took {took} ms");
    assert_eq!(lab.step("01/after").outcome, Outcome::Passed, "a new shell");
    assert_report_complete(&lab);
    assert!(
        in_sessions(&sessions).is_empty(),
        "the frozen shell and its command are gone: {:?}",
        in_sessions(&sessions)
    );
}

#[test]
fn a_frozen_session_stops_the_run_when_not_keep_going() {
    let lab = Lab::new();
    let (mut child, sessions) = run_and_freeze(&lab, &["verify", "workshop", "--grace", "1s"]);
    assert_eq!(wait_exit(&mut child, Duration::from_secs(60)), 1);
    assert_eq!(attempt(&lab, "01/frozen").outcome, Outcome::Timeout);
    assert_eq!(lab.step("01/after").outcome, Outcome::Skipped);
    assert_report_complete(&lab);
    assert!(
        in_sessions(&sessions).is_empty(),
        "{:?}",
        in_sessions(&sessions)
    );
}

#[test]
fn a_shell_lost_mid_block_is_unreachable_and_the_next_block_gets_a_new_one() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=lost timeout=60s\ntouch started\nsleep 3174\n```\n\n```bash id=after\necho still here\n```\n\n```console\nstill here\n```\n",
    );
    let mut child = spawn(&lab, &["verify", "workshop", "--keep-going"]);
    wait_until("the block starts", Duration::from_secs(20), || {
        lab.path().join("started").exists()
    });
    let sessions = shell_sessions(child.id());
    wait_until("sleep runs", Duration::from_secs(10), || {
        in_sessions(&sessions).iter().any(|p| p.name == "sleep")
    });
    // The host goes away: everything in the shell's session dies at once.
    for process in in_sessions(&sessions) {
        signal(process.pid, "KILL");
    }
    assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), 1);
    let lost = attempt(&lab, "01/lost");
    assert_eq!(lost.outcome, Outcome::Unreachable, "{lost:?}");
    assert!(
        lost.duration_ms < 30_000,
        "ended when the shell went, not at its 60 s timeout"
    );
    assert_eq!(lab.step("01/after").outcome, Outcome::Passed, "a new shell");
    assert_report_complete(&lab);
}

const LONG_CHAPTER: &str = "# Long\n\n```bash id=one\necho one\n```\n\n```console\none\n```\n\n```bash id=long\ntouch started\nsleep 3171 &\nsleep 3172 | cat\n```\n\n```bash id=never\ntouch never\n```\n";

/// Interrupts a run in its second block with `signal_name`; checks the exit status, the
/// report and that every process the run started is gone.
fn interrupt(signal_name: &str, expected_code: i32) {
    interrupt_run(signal_name, expected_code, &[]);
}

/// [`interrupt`], `verify` given `options`.
fn interrupt_run(signal_name: &str, expected_code: i32, options: &[&str]) {
    let lab = Lab::new();
    lab.chapter("01-long.md", LONG_CHAPTER);
    let mut args = vec!["verify", "workshop"];
    args.extend_from_slice(options);
    let mut child = spawn(&lab, &args);
    let pid = child.id();
    wait_until("the long block starts", Duration::from_secs(20), || {
        lab.path().join("started").exists()
    });
    let sessions = shell_sessions(pid);
    wait_until("its commands run", Duration::from_secs(10), || {
        in_sessions(&sessions)
            .iter()
            .filter(|p| p.name == "sleep" || p.name == "cat")
            .count()
            == 3
    });
    let before = in_sessions(&sessions);
    eprintln!(
        "before {signal_name}: {} processes in the run's shell session: {:?}",
        before.len(),
        before.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    assert!(before.len() >= 4, "bash, 2 sleeps, cat: {before:?}");
    signal(pid, signal_name);
    let code = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(code, expected_code, "{}", lab.read("stderr.txt"));
    let after = in_sessions(&sessions);
    eprintln!("after: {} processes", after.len());
    assert!(after.is_empty(), "left behind: {after:?}");
    let orphans: Vec<Process> = processes()
        .into_iter()
        .filter(|p| p.parent == pid)
        .collect();
    assert!(orphans.is_empty(), "{orphans:?}");

    assert_report_complete(&lab);
    let report = lab.report();
    assert_eq!(report.status, RunStatus::Interrupted);
    assert_eq!(
        report.interrupted_by.as_deref(),
        Some(signal_name_in_report(signal_name).as_str())
    );
    assert_eq!(lab.step("01-long/one").outcome, Outcome::Passed);
    assert_eq!(lab.step("01-long/long").outcome, Outcome::Interrupted);
    assert_eq!(lab.step("01-long/never").outcome, Outcome::Skipped);
    assert!(!lab.path().join("never").exists());
    let html = lab.read("report/index.html");
    assert!(
        html.contains("interrupted by SIG"),
        "the page says why it stopped"
    );
    assert!(lab.read("stdout.txt").contains("interrupted"));
}

fn signal_name_in_report(name: &str) -> String {
    format!("SIG{name}")
}

#[test]
fn sigint_writes_the_report_exits_130_and_leaves_no_process() {
    interrupt("INT", 130);
}

/// Issue 23: with `--keep-going` the blocks go to the shell in a batch; an interrupt stops
/// the block running and the rest of the batch is neither run nor reported as run.
#[test]
fn sigint_in_a_keep_going_batch_stops_it_and_skips_the_blocks_after() {
    interrupt_run("INT", 130, &["--keep-going"]);
}

#[test]
fn sigterm_writes_the_report_exits_143_and_leaves_no_process() {
    interrupt("TERM", 143);
}

/// Issue 24: a closed terminal or a dropped SSH connection (SIGHUP) used to kill runbook with
/// no report and the block's processes left running.
#[test]
fn sighup_writes_the_report_exits_129_and_leaves_no_process() {
    interrupt("HUP", 129);
}

/// Issue 24: a terminal that really closes (the hang-up a dropped SSH connection gives):
/// runbook runs on a pseudo-terminal (`script`), which is then destroyed. Its writes to the
/// terminal fail from then on; it must still stop the block, end what it started and write
/// the whole report.
#[test]
fn a_closed_terminal_stops_the_run_and_the_report_is_written() {
    let lab = Lab::new();
    lab.chapter(
        "01-long.md",
        "# Long\n\n```bash id=one\necho one\n```\n\n```bash id=long\ntouch started\nsleep 3183 &\nsleep 3184\n```\n\n```bash id=never\ntouch never\n```\n",
    );
    let command = format!(
        "exec {} verify workshop",
        common::runbook_binary().display()
    );
    let mut terminal = std::process::Command::new("setsid")
        .args(["script", "-qfec", &command, "/dev/null"])
        .current_dir(lab.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script runs");
    wait_until("the long block starts", Duration::from_secs(20), || {
        lab.path().join("started").exists()
    });
    wait_until("its sleep runs", Duration::from_secs(10), || {
        processes().iter().any(|p| sleeping(p.pid, "3184"))
    });
    // The terminal goes: its master side closes with `script`.
    signal(terminal.id(), "KILL");
    let _ = terminal.wait();
    wait_until("the report is written", Duration::from_secs(30), || {
        lab.path().join("report/junit.xml").exists()
    });
    wait_until("the block's processes end", Duration::from_secs(10), || {
        !processes()
            .iter()
            .any(|p| sleeping(p.pid, "3183") || sleeping(p.pid, "3184"))
    });
    assert_report_complete(&lab);
    let report = lab.report();
    assert_eq!(report.status, RunStatus::Interrupted);
    assert_eq!(report.interrupted_by.as_deref(), Some("SIGHUP"));
    assert_eq!(lab.step("01-long/long").outcome, Outcome::Interrupted);
    assert!(!lab.path().join("never").exists());
}

/// Whether process `pid` runs `sleep SECONDS`.
fn sleeping(pid: u32, seconds: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|line| line == format!("sleep\0{seconds}\0").as_bytes())
}

/// Issue 24: Ctrl-\ (SIGQUIT) likewise.
#[test]
fn sigquit_writes_the_report_exits_131_and_leaves_no_process() {
    interrupt("QUIT", 131);
}

/// Issue 24: under `nohup` (SIGHUP ignored when runbook starts) a hang-up does not stop the
/// run: it carries on to the end.
#[test]
fn sighup_under_nohup_is_ignored_and_the_run_carries_on() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=wait\ntouch started\nwhile [ ! -e go ]; do sleep 0.1; done\n```\n\n```bash id=after\necho carried on\n```\n\n```console\ncarried on\n```\n",
    );
    let stdout = std::fs::File::create(lab.path().join("stdout.txt")).expect("stdout file");
    let stderr = std::fs::File::create(lab.path().join("stderr.txt")).expect("stderr file");
    // nohup execs runbook in its own process: the pid is runbook's.
    let mut child = std::process::Command::new("nohup")
        .arg(common::runbook_binary())
        .args(["verify", "workshop"])
        .current_dir(lab.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start runbook under nohup");
    wait_until("the block starts", Duration::from_secs(20), || {
        lab.path().join("started").exists()
    });
    signal(child.id(), "HUP");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(lab.path().join("go"), "").expect("go");
    let code = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(code, 0, "{}", lab.read("stderr.txt"));
    let report = lab.report();
    assert_eq!(report.status, RunStatus::Passed);
    assert_eq!(report.interrupted_by, None);
    assert_eq!(lab.step("01/after").outcome, Outcome::Passed);
}

/// Peak resident memory of `pid` so far, in KiB (VmHWM).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn hundred_megabytes_of_output_keep_memory_bounded_and_the_tail_marked() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=flood\nyes 'a line of output from a chatty command' | head -c 100000000\necho\necho last line\n```\n\n```console\n...\nlast line\n```\n",
    );
    let mut child = spawn(&lab, &["verify", "workshop"]);
    let pid = child.id();
    let mut peak = 0;
    let code = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("peak RSS seen: {} MiB", peak / 1024);
    assert_eq!(code, 0, "{}", lab.read("stdout.txt"));
    // Sanity only (the figure is in BENCHMARKS.md): far below the 100 MB printed.
    assert!(peak > 0 && peak < 80 * 1024, "peak RSS {peak} KiB");

    let flood = attempt(&lab, "01/flood");
    assert!(flood.truncated);
    assert_eq!(flood.output_bytes, 100_000_000 + 1 + 10);
    let output = flood.output.as_str();
    assert!(output.len() <= 1 << 20, "{} bytes kept", output.len());
    assert!(output.ends_with("\nlast line\n"));
    assert!(
        output.starts_with("a line of output from a chatty command\n"),
        "the kept tail starts at a whole line: {:?}",
        &output[..60]
    );
    let html = lab.read("report/index.html");
    assert!(html.len() < 4 << 20, "{} bytes of HTML", html.len());
    assert!(
        html.contains("output truncated: 95.4 MiB printed (100000011 bytes), only the last"),
        "the page marks the kept tail"
    );
    let junit = lab.read("report/junit.xml");
    assert!(junit.contains("truncated"), "JUnit says the output was cut");
    assert!(Path::new(&lab.path().join("report/run.json")).exists());
}

/// Runs `chapter` to its end, watching runbook's peak memory; returns (exit code, peak KiB).
fn run_watching_memory(lab: &Lab, args: &[&str]) -> (i32, u64) {
    let mut child = spawn(lab, args);
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The sizes of the three reports and of what the terminal got, in bytes.
fn report_sizes(lab: &Lab) -> [usize; 4] {
    [
        "report/run.json",
        "report/index.html",
        "report/junit.xml",
        "stdout.txt",
    ]
    .map(|name| lab.read(name).len())
}

/// Checks what issue 24 found for a flood of short lines that fails its match: every report
/// in proportion to `--max-output` (1 MiB), the diff cut with a note saying so everywhere.
#[track_caller]
fn assert_flood_bounded(lab: &Lab, id: &str, peak_kib: u64) {
    let [json, html, junit, terminal] = report_sizes(lab);
    eprintln!(
        "peak RSS {} MiB; run.json {json}, index.html {html}, junit.xml {junit}, terminal {terminal} bytes",
        peak_kib / 1024
    );
    // Before: 245 MB, 42 MB, 2.6 MB and 12 MB. The output kept (1 MiB) is in each report once.
    assert!(json < 4 << 20, "run.json: {json} bytes");
    assert!(html < 3 << 20, "index.html: {html} bytes");
    assert!(junit < 3 << 20, "junit.xml: {junit} bytes");
    assert!(terminal < 256 << 10, "terminal: {terminal} bytes");
    // Sanity only (the figures are in BENCHMARKS.md): it was 1.2 GB.
    assert!(
        peak_kib > 0 && peak_kib < 400 * 1024,
        "peak RSS {peak_kib} KiB"
    );
    let attempt = lab.attempt(id);
    let diff = attempt.diff.expect("a diff");
    assert!(diff.omitted > 100_000, "{} lines omitted", diff.omitted);
    let shown: usize = diff.hunks.iter().map(|hunk| hunk.lines.len()).sum();
    assert!(shown <= 1000, "{shown} diff lines shown");
    let note = "diff truncated: ";
    assert!(
        diff.unified.contains(note),
        "the unified diff says it was cut"
    );
    assert!(
        lab.read("stdout.txt").contains(note),
        "the terminal says so"
    );
    assert!(
        lab.read("report/index.html").contains(note),
        "the page says so"
    );
    assert!(lab.read("report/junit.xml").contains(note), "JUnit says so");
}

/// Issue 24: `yes y | head -c 1M` against an expected `x` took 1.2 GB and wrote a 245 MB
/// run.json, a 42 MB index.html and 12 MB of diff on the terminal.
#[test]
fn a_failing_flood_of_short_lines_keeps_memory_and_reports_bounded() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=flood\nyes y | head -c 1M\n```\n\n```console\nx\n```\n",
    );
    let (code, peak) = run_watching_memory(&lab, &["verify", "workshop"]);
    assert_eq!(code, 1, "{}", lab.read("stderr.txt"));
    assert_flood_bounded(&lab, "01/flood", peak);
}

/// Issue 24: the same for a `pty` block flooding until its timeout (412 MB, an 84 MB report).
#[test]
fn a_pty_block_flooding_until_its_timeout_keeps_memory_and_reports_bounded() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=flood pty timeout=2s\nyes\n```\n\n```console\nx\n```\n",
    );
    let (code, peak) = run_watching_memory(&lab, &["verify", "workshop"]);
    assert_eq!(code, 1, "{}", lab.read("stderr.txt"));
    assert_eq!(lab.attempt("01/flood").outcome, Outcome::Timeout);
    assert_flood_bounded(&lab, "01/flood", peak);
}

/// An interrupt while runbook waits for a host that accepts TCP but never speaks SSH (the
/// connection hangs until --connect-timeout) ends the run at once, with its report.
#[test]
fn sigint_while_connecting_ends_the_run_at_once() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = silent.local_addr().expect("address").port();
    let lab = Lab::new();
    lab.write(
        "workshop/inventory.yml",
        &format!(
            "all:\n  hosts:\n    mute:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
        ),
    );
    lab.chapter(
        "01.md",
        "```bash id=local\necho here\n```\n\n```bash id=remote on=mute\necho never\n```\n",
    );
    let mut run = spawn(&lab, &["verify", "workshop", "--connect-timeout", "60s"]);
    // Wait until ssh is connected to the silent port (the TCP connection is accepted by the
    // kernel; nothing ever answers the SSH banner).
    let (_connection, _) = silent.accept().expect("ssh connects");
    std::thread::sleep(Duration::from_millis(300));
    let interrupted = Instant::now();
    signal(run.id(), "INT");
    let code = wait_exit(&mut run, Duration::from_secs(20));
    eprintln!("ended {:?} after SIGINT", interrupted.elapsed());
    assert_eq!(code, 130);
    assert!(
        interrupted.elapsed() < Duration::from_secs(10),
        "did not wait for the connect timeout"
    );
    assert_report_complete(&lab);
    assert_eq!(lab.step("01/local").outcome, Outcome::Unverified);
    assert_eq!(lab.step("01/remote").outcome, Outcome::Interrupted);
}
