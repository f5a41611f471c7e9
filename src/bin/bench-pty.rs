//! Benchmark of what a `pty` block costs over a plain block, and what each question adds: in
//! one local persistent session, N blocks of each kind, timed one by one: a plain block, a
//! `pty` block with no question, then `pty` blocks asking 1 and 5 `read -p` questions that are
//! answered as they come. The program's own work is nil, so the times are runbook's.
//!
//! `cargo run --release --bin bench-pty [-- N]` (N defaults to 100). See BENCHMARKS.md.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use runbook::inventory::Inventory;
use runbook::session::{Answers, Cancel, Ending, Execution, Leave, SessionSettings, Sessions};

fn fail(message: &str) -> ! {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("bench-pty: {message}");
    }
    std::process::exit(2);
}

/// Answers `Qn: ` with `an` for as many questions as asked.
struct Numbered {
    next: usize,
}

impl Answers for Numbered {
    fn answer_for(&mut self, line: &[u8]) -> Option<String> {
        let expected = format!("Q{}: ", self.next + 1);
        if line != expected.as_bytes() {
            return None;
        }
        self.next += 1;
        Some(format!("a{}", self.next))
    }
}

/// The script asking `questions` questions, and what it prints once they are answered.
fn asking(questions: usize) -> (String, String) {
    let mut script = String::new();
    let mut echo = String::from("echo");
    for number in 1..=questions {
        script.push_str(&format!("read -p 'Q{number}: ' v{number}\n"));
        echo.push_str(&format!(" \"$v{number}\""));
    }
    script.push_str(&echo);
    script.push('\n');
    let said: Vec<String> = (1..=questions).map(|n| format!("a{n}")).collect();
    (script, said.join(" "))
}

fn mean_ms(times: &[Duration]) -> f64 {
    let total: Duration = times.iter().sum();
    total.as_secs_f64() * 1000.0 / times.len().max(1) as f64
}

fn median_ms(times: &[Duration]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted
        .get(sorted.len() / 2)
        .map_or(0.0, |time| time.as_secs_f64() * 1000.0)
}

fn check(execution: &Execution, what: &str) {
    if execution.ending != Ending::Completed || execution.exit_code != Some(0) {
        fail(&format!("{what} failed: {execution:?}"));
    }
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map_or(100, |n| n.parse().unwrap_or_else(|_| fail("N is a number")));
    let scratch = tempfile::tempdir().unwrap_or_else(|error| fail(&error.to_string()));
    let inventory_path = scratch.path().join("inventory.yml");
    std::fs::write(&inventory_path, "all:\n  hosts:\n    localhost: {}\n")
        .unwrap_or_else(|error| fail(&error.to_string()));
    let inventory =
        Inventory::load(&inventory_path).unwrap_or_else(|problems| fail(&format!("{problems:?}")));
    let sessions = Sessions::new(Arc::new(inventory), SessionSettings::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| fail(&error.to_string()));
    runtime.block_on(async {
        let (_sender, cancel) = Cancel::new();
        let mut lock = sessions
            .acquire("localhost", None)
            .await
            .unwrap_or_else(|error| fail(&format!("no local session: {error}")));
        let session = lock.as_mut().unwrap_or_else(|| fail("no session"));
        let timeout = Duration::from_secs(10);
        println!("| block ({count} of each) | mean (ms) | median (ms) |");
        println!("|---|---:|---:|");
        let mut plain = Vec::new();
        for _ in 0..count {
            let started = Instant::now();
            let execution = session.run("echo a1\n", timeout, &cancel).await;
            plain.push(started.elapsed());
            check(&execution, "a plain block");
        }
        println!(
            "| plain block (`echo`) | {:.2} | {:.2} |",
            mean_ms(&plain),
            median_ms(&plain)
        );
        for questions in [0, 1, 5] {
            let (script, said) = asking(questions);
            let mut times = Vec::new();
            for _ in 0..count {
                let mut answers = Numbered { next: 0 };
                let started = Instant::now();
                let execution = session
                    .run_pty(&script, timeout, &cancel, Leave::Nothing, &mut answers)
                    .await;
                times.push(started.elapsed());
                check(&execution, "a pty block");
                if !String::from_utf8_lossy(&execution.output).contains(&said) {
                    fail(&format!("the answers did not arrive: {execution:?}"));
                }
            }
            println!(
                "| `pty` block, {questions} question(s) | {:.2} | {:.2} |",
                mean_ms(&times),
                median_ms(&times)
            );
        }
    });
    runtime.block_on(sessions.shutdown(true));
}
