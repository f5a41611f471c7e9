//! `junit.xml`: one testsuite per chapter, one testcase per block, the diff in the failure, so
//! CI systems show which step of the course broke.

use std::fmt::Write;

use super::model::{Outcome, RunReport, StepResult};

/// Escapes text for XML 1.0, dropping the characters it cannot hold at all.
pub(crate) fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(character),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

fn failure_body(step: &StepResult) -> String {
    let mut body = String::new();
    for host in &step.hosts {
        let Some(attempt) = host.last_attempt() else {
            continue;
        };
        if !host.outcome.is_failure(true) {
            continue;
        }
        let _ = writeln!(
            body,
            "on {} as {}: {}",
            host.host,
            host.user,
            attempt.message.clone().unwrap_or_default()
        );
        if attempt.truncated {
            let _ = writeln!(body, "{}", super::truncation_note(attempt));
        }
        if let Some(diff) = &attempt.diff {
            body.push_str(&diff.unified);
        } else if !attempt.output.is_empty() {
            let _ = writeln!(body, "output:\n{}", attempt.output);
        }
    }
    body
}

pub(crate) fn render(report: &RunReport) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"runbook\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\">",
        report.counts.total,
        report.counts.failed,
        report.counts.skipped,
        seconds(report.duration_ms)
    );
    for chapter in &report.chapters {
        let failures = chapter
            .steps
            .iter()
            .filter(|s| s.outcome.is_failure(report.strict))
            .count();
        let skipped = chapter
            .steps
            .iter()
            .filter(|s| s.outcome == Outcome::Skipped)
            .count();
        let time: u64 = chapter.steps.iter().map(|s| s.duration_ms).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">",
            xml_text(&chapter.title),
            xml_text(&chapter.file),
            chapter.steps.len(),
            failures,
            seconds(time)
        );
        for step in &chapter.steps {
            let hosts: Vec<&str> = step.hosts.iter().map(|h| h.host.as_str()).collect();
            let _ = write!(
                xml,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\" time=\"{}\"",
                xml_text(&step.qualified_id),
                xml_text(&chapter.key),
                xml_text(&step.file),
                step.line,
                seconds(step.duration_ms)
            );
            let output: String = step
                .hosts
                .iter()
                .filter_map(|h| {
                    h.last_attempt().map(|a| {
                        let note = if a.truncated {
                            format!(" ({})", super::truncation_note(a))
                        } else {
                            String::new()
                        };
                        let background = a
                            .background
                            .as_ref()
                            .filter(|background| !background.output.is_empty())
                            .map(|background| {
                                format!(
                                    "[{} as {}] background output, printed after the block ended:\n{}\n",
                                    h.host, h.user, background.output
                                )
                            })
                            .unwrap_or_default();
                        format!(
                            "[{} as {}]{note}\n{}\n{background}",
                            h.host, h.user, a.output
                        )
                    })
                })
                .collect();
            xml.push_str(">\n");
            let _ = writeln!(
                xml,
                "      <properties><property name=\"hosts\" value=\"{}\"/></properties>",
                xml_text(&hosts.join(","))
            );
            if step.outcome == Outcome::Skipped {
                let _ = writeln!(
                    xml,
                    "      <skipped message=\"{}\"/>",
                    xml_text(step.message.as_deref().unwrap_or("not run"))
                );
            } else if step.outcome.is_failure(report.strict) {
                let message = step
                    .message
                    .clone()
                    .unwrap_or_else(|| step.outcome.label().to_string());
                let _ = writeln!(
                    xml,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    step.outcome.label(),
                    xml_text(&message),
                    xml_text(&failure_body(step))
                );
            }
            if !output.is_empty() {
                let _ = writeln!(xml, "      <system-out>{}</system-out>", xml_text(&output));
            }
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    if !report.leftovers.is_empty() {
        // JUnit has no place for a run's own findings but a suite's output: one suite,
        // without test cases, holds the list of processes runbook ended.
        let listed: Vec<String> = report
            .leftovers
            .iter()
            .map(|leftover| {
                format!(
                    "left running by a block, ended by runbook: {} ({}) pid {}: {}",
                    leftover.host, leftover.user, leftover.pid, leftover.command
                )
            })
            .collect();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"leftover processes\" tests=\"0\" failures=\"0\" skipped=\"0\">\n    <system-err>{}</system-err>\n  </testsuite>",
            xml_text(&listed.join("\n"))
        );
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_dropped_and_markup_escaped() {
        assert_eq!(
            xml_text("a\u{1}b<c>&\"'\u{FFFF}\td"),
            "ab&lt;c&gt;&amp;&quot;&apos;\td"
        );
    }
}
