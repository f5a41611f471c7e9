//! Recordings of command blocks in asciicast v2, asciinema's format: the command at a prompt,
//! then each line of its output at the moment it was printed. The lines are the report's (ANSI
//! removed, unprintable bytes escaped, secrets replaced), so a recording shows nothing the
//! report does not.

use std::path::PathBuf;

use serde_json::json;

use super::model::{AttemptResult, HostResult, RunReport, StepResult};

/// A pause longer than this is shortened when played (asciicast's `idle_time_limit`).
const IDLE_TIME_LIMIT_SECONDS: f64 = 2.0;

/// Where a host's recording of a step goes, relative to the recordings folder (`casts/`).
pub(crate) fn relative_path(step: &StepResult, host: &HostResult) -> PathBuf {
    PathBuf::from(&step.chapter).join(format!("{}.{}.cast", step.id, host.host))
}

/// Every recording of the run: (path relative to the recordings folder, content). One per command
/// block and host, of its last attempt; `file=` blocks and blocks that never ran have none.
pub(crate) fn render_all(report: &RunReport) -> Vec<(PathBuf, String)> {
    let mut casts = Vec::new();
    for step in report.chapters.iter().flat_map(|chapter| &chapter.steps) {
        if step.kind != super::model::StepKind::Command {
            continue;
        }
        for host in &step.hosts {
            if let Some(attempt) = host.last_attempt() {
                casts.push((relative_path(step, host), render(step, host, attempt)));
            }
        }
    }
    casts
}

/// What a recording plays: (seconds from the start, text), the command first, the next prompt
/// last.
pub(crate) fn events(
    step: &StepResult,
    host: &HostResult,
    attempt: &AttemptResult,
) -> Vec<(f64, String)> {
    let prompt = prompt(host);
    let typed: String = step
        .command
        .trim_end()
        .split('\n')
        .collect::<Vec<_>>()
        .join("\r\n> ");
    let mut events = vec![(0.0, format!("{prompt}{typed}\r\n"))];
    // A last line without a newline is followed by the prompt on the same line, as in a
    // terminal.
    let (text, ends_with_newline) = match attempt.output.strip_suffix('\n') {
        Some(text) => (text, true),
        None => (attempt.output.as_str(), false),
    };
    if !attempt.output.is_empty() {
        let lines: Vec<&str> = text.split('\n').collect();
        for (index, line) in lines.iter().enumerate() {
            // Lines beyond the times kept (a flood) play at the last time kept.
            let millis = attempt
                .line_times_ms
                .get(index)
                .or(attempt.line_times_ms.last())
                .copied()
                .unwrap_or(0);
            // Milliseconds are what the timings hold.
            let seconds = f64::from(millis) / 1000.0;
            let end = if index + 1 < lines.len() || ends_with_newline {
                "\r\n"
            } else {
                ""
            };
            // Lines printed together are one event, as they reached the terminal.
            match events.last_mut() {
                Some((at, printed)) if index > 0 && *at == seconds => {
                    printed.push_str(line);
                    printed.push_str(end);
                }
                _ => events.push((seconds, format!("{line}{end}"))),
            }
        }
    }
    let ended = (attempt.duration_ms as f64 / 1000.0).max(events.last().map_or(0.0, |e| e.0));
    events.push((ended, prompt));
    events
}

fn prompt(host: &HostResult) -> String {
    format!("{}@{}:~$ ", host.user, host.host)
}

/// One recording: a header line, then `[seconds, "o", text]` events.
pub(crate) fn render(step: &StepResult, host: &HostResult, attempt: &AttemptResult) -> String {
    let events = events(step, host, attempt);
    let ended = events.last().map_or(0.0, |event| event.0);
    let prompt = prompt(host);
    let width = std::iter::once(prompt.chars().count() + step.command.len().min(200))
        .chain(attempt.output.lines().map(|line| line.chars().count()))
        .max()
        .unwrap_or(80)
        .clamp(80, 200);
    let lines = step.command.lines().count() + attempt.output.lines().count() + 2;
    let header = json!({
        "version": 2,
        "width": width,
        "height": lines.clamp(5, 40),
        "duration": ended,
        "idle_time_limit": IDLE_TIME_LIMIT_SECONDS,
        "title": format!("{} on {}", step.qualified_id, host.host),
        "env": { "SHELL": "/bin/bash", "TERM": "xterm-256color" },
    });
    let mut text = header.to_string();
    text.push('\n');
    for (seconds, output) in events {
        text.push_str(&json!([seconds, "o", output]).to_string());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Outcome;

    fn step(command: &str) -> StepResult {
        serde_json::from_value(json!({
            "qualified_id": "etcd/member-list", "id": "member-list", "chapter": "etcd",
            "file": "workshop/etcd.md", "line": 3, "section": null, "kind": "command",
            "command": command, "path": null, "outcome": "passed", "duration_ms": 1500,
            "hosts": [], "message": null, "blessed": []
        }))
        .expect("a step")
    }

    fn attempt(output: &str, times: Vec<u32>) -> AttemptResult {
        AttemptResult {
            number: 1,
            outcome: Outcome::Passed,
            exit_code: Some(0),
            duration_ms: 1500,
            output: output.into(),
            truncated: false,
            output_bytes: output.len() as u64,
            line_times_ms: times,
            diff: None,
            message: None,
            unreachable: None,
            background: None,
            background_source: None,
        }
    }

    fn host() -> HostResult {
        HostResult {
            host: "e1".into(),
            user: "root".into(),
            outcome: Outcome::Passed,
            expected: None,
            attempts: Vec::new(),
            captures: Default::default(),
        }
    }

    #[test]
    fn the_command_then_each_line_at_its_time() {
        let cast = render(
            &step("etcdctl member list\n| sort"),
            &host(),
            &attempt("one\ntwo\nthree", vec![200, 200, 1250]),
        );
        let with_newline = render(&step("true"), &host(), &attempt("one\n", vec![300]));
        let lines: Vec<serde_json::Value> = cast
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON lines"))
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["title"], "etcd/member-list on e1");
        assert_eq!(
            lines[1],
            json!([0.0, "o", "root@e1:~$ etcdctl member list\r\n> | sort\r\n"])
        );
        assert_eq!(lines[2], json!([0.2, "o", "one\r\ntwo\r\n"]));
        // The last line had no newline: the prompt follows on it, as in a terminal.
        assert_eq!(lines[3], json!([1.25, "o", "three"]));
        assert_eq!(lines[4], json!([1.5, "o", "root@e1:~$ "]));
        assert_eq!(lines.len(), 5);
        let events: Vec<&str> = with_newline.lines().skip(2).collect();
        assert_eq!(
            events,
            [r#"[0.3,"o","one\r\n"]"#, r#"[1.5,"o","root@e1:~$ "]"#]
        );
    }

    #[test]
    fn no_output_is_the_command_and_the_next_prompt() {
        let cast = render(&step("true"), &host(), &attempt("", vec![]));
        let events: Vec<&str> = cast.lines().skip(1).collect();
        assert_eq!(
            events,
            [
                r#"[0.0,"o","root@e1:~$ true\r\n"]"#,
                r#"[1.5,"o","root@e1:~$ "]"#
            ]
        );
    }
}
