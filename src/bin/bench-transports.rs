//! Benchmark of the per-block cost of runbook's persistent sessions against one process per
//! command, on runbook's test container (`scripts/prepare-test-container`): N trivial blocks
//! over SSH and over lxc-attach through runbook sessions, compared in the same run with N
//! plain `ssh -o ControlPath=...` calls through a ControlMaster and N `lxc-attach` calls.
//!
//! `cargo run --release --bin bench-transports [-- N]` (N defaults to 300). See BENCHMARKS.md.

#![allow(clippy::print_stdout)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runbook::inventory::Inventory;
use runbook::session::{Cancel, Ending, SessionSettings, Sessions};

const CONTAINER: &str = "runbook-test";
const ADDRESS: &str = "10.0.3.250";

/// Per-iteration times of one way of running a trivial command.
struct Series {
    name: String,
    times: Vec<Duration>,
}

impl Series {
    fn line(&self) -> String {
        let mut sorted = self.times.clone();
        sorted.sort();
        let total: Duration = sorted.iter().sum();
        let mean = total / sorted.len().max(1) as u32;
        let at = |fraction: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * fraction).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        format!(
            "| {:<44} | {:>9.3} | {:>9.3} | {:>9.3} | {:>9.1} |",
            self.name,
            ms(mean),
            ms(at(0.5)),
            ms(at(0.95)),
            ms(total)
        )
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn fail(message: &str) -> ! {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("bench-transports: {message}");
    }
    std::process::exit(2);
}

/// Times `count` runs of a process.
fn processes(name: &str, count: usize, argv: &[&str]) -> Series {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|error| fail(&format!("cannot run {}: {error}", argv[0])));
        times.push(started.elapsed());
        if !status.success() {
            fail(&format!("`{}` failed: {status}", argv.join(" ")));
        }
    }
    Series {
        name: name.to_string(),
        times,
    }
}

/// Times `count` blocks in one persistent runbook session on `host`.
async fn blocks(sessions: &Sessions, host: &str, name: &str, count: usize) -> Series {
    let (_sender, cancel) = Cancel::new();
    let mut lock = sessions
        .acquire(host, None)
        .await
        .unwrap_or_else(|error| fail(&format!("no session on {host}: {error}")));
    let session = lock
        .as_mut()
        .unwrap_or_else(|| fail("the session did not start"));
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let execution = session
            .run("true\n", Duration::from_secs(10), &cancel)
            .await;
        times.push(started.elapsed());
        if execution.ending != Ending::Completed || execution.exit_code != Some(0) {
            fail(&format!("a block on {host} failed: {execution:?}"));
        }
    }
    Series {
        name: name.to_string(),
        times,
    }
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map_or(300, |n| n.parse().unwrap_or_else(|_| fail("N is a number")));
    let root = env!("CARGO_MANIFEST_DIR");
    let prepared = Command::new("flock")
        .args(["/run/lock/runbook-test-container.lock", "bash"])
        .arg(format!("{root}/scripts/prepare-test-container"))
        .output()
        .unwrap_or_else(|error| fail(&format!("cannot prepare the container: {error}")));
    if !prepared.status.success() {
        fail(&format!(
            "cannot prepare the container (run scripts/setup-test-machine first):\n{}",
            String::from_utf8_lossy(&prepared.stderr)
        ));
    }
    let key = String::from_utf8_lossy(&prepared.stdout).trim().to_string();
    let scratch = tempfile::Builder::new()
        .prefix("rb-bench-")
        .tempdir()
        .unwrap_or_else(|error| fail(&error.to_string()));
    let known_hosts = scratch.path().join("known_hosts");
    let inventory_path = scratch.path().join("inventory.yml");
    std::fs::write(
        &inventory_path,
        format!(
            "all:\n  hosts:\n    boxssh:\n      ansible_host: {ADDRESS}\n      ansible_user: root\n      ansible_ssh_private_key_file: {key}\n      runbook_known_hosts_file: {}\n    box:\n      runbook_transport: lxc\n      runbook_container: {CONTAINER}\n",
            known_hosts.display()
        ),
    )
    .unwrap_or_else(|error| fail(&error.to_string()));
    let inventory =
        Inventory::load(&inventory_path).unwrap_or_else(|problems| fail(&format!("{problems:?}")));
    let settings = SessionSettings {
        control_dir: scratch.path().join("ctl"),
        ..SessionSettings::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| fail(&error.to_string()));
    let sessions = Sessions::new(Arc::new(inventory), settings);

    let mut series = Vec::new();
    runtime.block_on(async {
        // One warm-up block each, so that connection set-up is not counted.
        blocks(&sessions, "localhost", "warm-up", 1).await;
        series.push(blocks(&sessions, "boxssh", "runbook session over ssh", count).await);
        series.push(blocks(&sessions, "box", "runbook session over lxc-attach", count).await);
        series.push(blocks(&sessions, "localhost", "runbook session, local bash", count).await);
    });

    // A plain ControlMaster, as a user would set one up.
    let control = scratch.path().join("cm");
    let master = Command::new("ssh")
        .args(["-M", "-N", "-f", "-o", "BatchMode=yes", "-o"])
        .arg(format!("ControlPath={}", control.display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-o"])
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args(["-i", &key, "-o", "IdentitiesOnly=yes"])
        .arg(format!("root@{ADDRESS}"))
        .status()
        .unwrap_or_else(|error| fail(&format!("cannot start ssh: {error}")));
    if !master.success() {
        fail("the plain ControlMaster did not start");
    }
    let control_option = format!("ControlPath={}", control.display());
    let target = format!("root@{ADDRESS}");
    series.push(processes(
        "ssh -o ControlPath=... root@box true",
        count,
        &[
            "ssh",
            "-o",
            &control_option,
            "-o",
            "BatchMode=yes",
            &target,
            "true",
        ],
    ));
    series.push(processes(
        "lxc-attach -n runbook-test -- true",
        count,
        &["lxc-attach", "-n", CONTAINER, "--", "true"],
    ));
    series.push(processes(
        "sh -c true (a local process)",
        count,
        &["sh", "-c", "true"],
    ));
    let _ = Command::new("ssh")
        .args(["-o", &control_option, "-O", "exit", &target])
        .stderr(Stdio::null())
        .status();
    runtime.block_on(sessions.shutdown(false));

    println!("{count} trivial blocks (`true`) each, times in ms\n");
    println!(
        "| {:<44} | {:>9} | {:>9} | {:>9} | {:>9} |",
        "how", "mean", "median", "p95", "total"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(46),
        "-".repeat(11),
        "-".repeat(11),
        "-".repeat(11),
        "-".repeat(11)
    );
    for item in &series {
        println!("{}", item.line());
    }
}
