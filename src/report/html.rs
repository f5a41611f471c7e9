//! `index.html`: one self-contained page (inline CSS, no script, a Content-Security-Policy that
//! forbids scripts and network loads) written straight from the run's data. Every piece of
//! text from the run goes through [`Page::text`], which escapes it as HTML, so whatever a
//! command printed stays text.
//!
//! Written by hand rather than through a template engine: with tera, a run of 3000 blocks
//! spent about 25 ms building the template's values and interpreting it, a tenth of runbook's
//! own time on the benchmark of BENCHMARKS.md (issue 23); writing the same bytes directly
//! takes a few milliseconds. The page is byte for byte the one the template gave
//! (`tests/snapshots/html/report.html`).

use std::fmt::Write as _;

use super::duration;
use super::model::{AttemptResult, HostResult, Outcome, RunReport, RunStatus, StepResult};
use crate::expect::diff::{Diff, DiffTag};

/// The page's start, up to the generator's version.
const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="runbook "#;

/// The style sheet, the end of the head and the start of the body.
const STYLE: &str = include_str!("style.html");

/// The page being written.
struct Page {
    out: String,
}

impl Page {
    /// Markup, as is.
    fn raw(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Text from the run, escaped as tera's autoescaping did (`&`, `<`, `>`, `"`, `'`).
    fn text(&mut self, text: &str) -> &mut Self {
        let mut rest = text;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            self.out.push_str(&rest[..at]);
            self.out.push_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            });
            rest = &rest[at + 1..];
        }
        self.out.push_str(rest);
        self
    }

    /// A number.
    fn number(&mut self, number: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.out, "{number}");
        self
    }

    /// An outcome's CSS class (its name in lower case).
    fn class(&mut self, outcome: Outcome) -> &mut Self {
        let start = self.out.len();
        let _ = write!(self.out, "{outcome:?}");
        self.out[start..].make_ascii_lowercase();
        self
    }

    /// An element's id from a block's name: anything but letters, digits, `-` and `_` as `-`.
    fn anchor(&mut self, text: &str) -> &mut Self {
        self.out.extend(text.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        }));
        self
    }

    /// `text` escaped, between `before` and `after`, if it is not empty (tera's `{% if %}`).
    fn text_if(&mut self, before: &str, text: Option<&str>, after: &str) -> &mut Self {
        if let Some(text) = text.filter(|text| !text.is_empty()) {
            self.raw(before).text(text).raw(after);
        }
        self
    }

    fn summary(&mut self, report: &RunReport, status_label: &str, status_class: &str) {
        self.raw("<h1>runbook report <span class=\"badge o-")
            .raw(status_class)
            .raw("\">")
            .raw(status_label)
            .raw("</span></h1>\n<div class=\"meta\">")
            .text(&report.workshop)
            .raw(" · started ")
            .text(&report.started_at)
            .raw(" · ")
            .text(&duration(report.duration_ms))
            .raw(" · runbook ")
            .text(&report.runbook_version)
            .text_if(" · interrupted by ", report.interrupted_by.as_deref(), "")
            .raw("</div>\n");
        let counts = &report.counts;
        self.raw("<div class=\"counts\"><span><b>")
            .number(counts.passed)
            .raw("</b> passed</span><span><b>")
            .number(counts.failed)
            .raw("</b> failed</span><span><b>")
            .number(counts.unverified)
            .raw("</b> unverified</span><span><b>")
            .number(counts.skipped)
            .raw("</b> not run</span>");
        if counts.blessed != 0 {
            self.raw("<span><b>")
                .number(counts.blessed)
                .raw("</b> blessed</span>");
        }
        self.raw("<span><b>")
            .number(counts.total)
            .raw("</b> blocks</span></div>\n");
        if !report.leftovers.is_empty() {
            self.raw("<div class=\"leftovers\"><b>Left running by a block, ended by runbook</b> (mark the block <code>keep-running</code> if it must outlive the run):<ul>");
            for leftover in &report.leftovers {
                self.raw("<li>")
                    .text(&leftover.host)
                    .raw(" (")
                    .text(&leftover.user)
                    .raw(") pid ")
                    .number(leftover.pid)
                    .raw(": <code>")
                    .text(&leftover.command)
                    .raw("</code></li>");
            }
            self.raw("</ul></div>");
        }
        self.raw("\n");
        let mut failures = report
            .chapters
            .iter()
            .flat_map(|chapter| chapter.steps.iter())
            .filter(|step| step.outcome.is_failure(report.strict))
            .peekable();
        self.raw("\n");
        if failures.peek().is_some() {
            self.raw("<div class=\"failures\"><b>What failed</b>\n<ul>");
            for step in failures {
                self.raw("<li><a href=\"#")
                    .anchor(&step.qualified_id)
                    .raw("\" class=\"id\">")
                    .text(&step.qualified_id)
                    .raw("</a> <span class=\"badge o-")
                    .class(step.outcome)
                    .raw("\">")
                    .text(step.outcome.label())
                    .raw("</span> ")
                    .text(step.message.as_deref().unwrap_or_default())
                    .raw(" <span class=\"where\">")
                    .text(&step.file)
                    .raw(":")
                    .number(step.line)
                    .raw("</span></li>");
            }
            self.raw("</ul></div>\n\n");
        }
    }

    fn step(&mut self, step: &StepResult, strict: bool) {
        self.raw("\n<details class=\"step\" id=\"")
            .anchor(&step.qualified_id)
            .raw("\"");
        if step.outcome.is_failure(strict) {
            self.raw(" open");
        }
        self.raw(">\n<summary><span class=\"badge o-")
            .class(step.outcome)
            .raw("\">")
            .text(step.outcome.label())
            .raw("</span><span class=\"id\">")
            .text(&step.qualified_id)
            .raw("</span><span class=\"dim\">");
        for (n, host) in step.hosts.iter().enumerate() {
            if n > 0 {
                self.raw(", ");
            }
            self.text(&host.host);
        }
        self.raw("</span><span class=\"dim\">")
            .text(&duration(step.duration_ms))
            .raw("</span><span class=\"where\">")
            .text(&step.file)
            .raw(":")
            .number(step.line)
            .raw("</span></summary>\n<div class=\"body\">\n")
            .text_if("<div class=\"dim\">§ ", step.section.as_deref(), "</div>")
            .raw("\n")
            .text_if("<p>", step.message.as_deref(), "</p>")
            .raw("\n")
            .text_if("<div class=\"dim\">writes ", step.path.as_deref(), "</div>")
            .raw("\n<pre>")
            .text(&step.command)
            .raw("</pre>\n");
        for change in &step.blessed {
            self.raw("<div class=\"note\">blessed ").text(&change.path);
            if change.created {
                self.raw(" (new)");
            } else {
                self.raw(" (")
                    .number(change.lines_changed)
                    .raw(" lines changed)");
            }
            self.raw("</div>");
        }
        self.raw("\n");
        for host in &step.hosts {
            self.host(host, strict);
        }
        self.raw("\n</div>\n</details>\n");
    }

    fn host(&mut self, host: &HostResult, strict: bool) {
        self.raw("\n<div class=\"host\"><span class=\"badge o-")
            .class(host.outcome)
            .raw("\">")
            .text(host.outcome.label())
            .raw("</span> <b>")
            .text(&host.host)
            .raw("</b> <span class=\"dim\">as ")
            .text(&host.user)
            .raw("</span>")
            .text_if(
                " <span class=\"dim\">· expected: ",
                host.expected.as_deref(),
                "</span>",
            )
            .raw("\n");
        let many = host.attempts.len() > 1;
        for attempt in &host.attempts {
            self.attempt(attempt, many, strict);
        }
        self.raw("\n</div>\n");
    }

    fn attempt(&mut self, attempt: &AttemptResult, many: bool, strict: bool) {
        self.raw("\n<div class=\"attempt\">");
        if many {
            self.raw("<span class=\"dim\">attempt ")
                .number(attempt.number)
                .raw(":</span> <span class=\"badge o-")
                .class(attempt.outcome)
                .raw("\">")
                .text(attempt.outcome.label())
                .raw("</span> ");
        }
        self.raw("<span class=\"dim\">exit ");
        match attempt.exit_code {
            Some(code) => self.number(code),
            None => self.raw("-"),
        };
        self.raw(" · ").text(&duration(attempt.duration_ms));
        let message = attempt
            .message
            .as_deref()
            .filter(|_| attempt.outcome != Outcome::Passed);
        self.text_if(" · ", message, "").raw("</span>\n");
        if attempt.truncated {
            self.raw("<div class=\"note\">")
                .text(&super::truncation_note(attempt))
                .raw("</div>");
        }
        self.raw("\n");
        if let Some(diff) = &attempt.diff {
            self.diff(diff);
        }
        self.raw("\n");
        let omitted = attempt.diff.as_ref().and_then(Diff::omitted_note);
        self.text_if("<div class=\"note\">", omitted.as_deref(), "</div>")
            .raw("\n");
        if !attempt.output.is_empty() {
            self.raw("<details");
            if attempt.outcome.is_failure(strict) && attempt.diff.is_none() {
                self.raw(" open");
            }
            self.raw("><summary class=\"dim\">output (")
                .number(attempt.output.lines().count())
                .raw(" lines)</summary><pre>")
                .text(&attempt.output)
                .raw("</pre></details>");
        } else if attempt.exit_code.is_some() {
            self.raw("<div class=\"dim\">no output</div>");
        }
        if let Some(background) = attempt
            .background
            .as_ref()
            .filter(|background| !background.output.is_empty())
        {
            self.raw("\n<details class=\"background\"><summary class=\"dim\">background output (")
                .number(background.output.lines().count())
                .raw(" lines")
                .text_if(
                    ", ",
                    background.still_running.then_some("still running"),
                    "",
                )
                .raw("): printed by what the block left running, after it ended</summary>");
            if background.truncated {
                self.raw("<div class=\"note\">")
                    .text(&format!(
                        "the first {} bytes of {}",
                        background.output.len(),
                        background.output_bytes
                    ))
                    .raw("</div>");
            }
            self.raw("<pre>")
                .text(&background.output)
                .raw("</pre></details>");
        }
        self.raw("\n</div>\n");
    }

    fn diff(&mut self, diff: &Diff) {
        if diff.hunks.is_empty() {
            return;
        }
        self.raw("<table class=\"diff\"><tbody>");
        for hunk in &diff.hunks {
            self.raw("<tr class=\"hunk\"><td class=\"n\"></td><td class=\"n\"></td><td>")
                .text(&hunk.header)
                .raw("</td></tr>");
            for line in &hunk.lines {
                let (class, sign) = match line.tag {
                    DiffTag::Equal => ("equal", " "),
                    DiffTag::Delete => ("delete", "-"),
                    DiffTag::Insert => ("insert", "+"),
                };
                self.raw("<tr class=\"")
                    .raw(class)
                    .raw("\"><td class=\"n\">");
                if let Some(number) = line.expected_line {
                    self.number(number);
                }
                self.raw("</td><td class=\"n\">");
                if let Some(number) = line.actual_line {
                    self.number(number);
                }
                self.raw("</td><td>").raw(sign);
                for segment in &line.segments {
                    if segment.emphasized && line.tag != DiffTag::Equal {
                        self.raw("<em class=\"ch\">")
                            .text(&segment.text)
                            .raw("</em>");
                    } else {
                        self.text(&segment.text);
                    }
                }
                self.raw("</td></tr>");
            }
        }
        self.raw("</tbody></table>");
    }
}

pub(crate) fn render(report: &RunReport) -> Result<String, String> {
    let (status_label, status_class) = match report.status {
        RunStatus::Passed => ("passed", "passed"),
        RunStatus::Failed => ("failed", "mismatch"),
        RunStatus::Interrupted => ("interrupted", "interrupted"),
    };
    let steps: usize = report.chapters.iter().map(|c| c.steps.len()).sum();
    let mut page = Page {
        out: String::with_capacity(8192 + steps * 1024),
    };
    page.raw(HEAD)
        .text(&report.runbook_version)
        .raw("\">\n<title>runbook: ")
        .raw(status_label)
        .raw(" (")
        .text(&report.workshop)
        .raw(")</title>\n")
        .raw(STYLE);
    page.summary(report, status_label, status_class);
    for chapter in &report.chapters {
        page.raw("\n<h2 id=\"")
            .anchor(&format!("chapter-{}", chapter.key))
            .raw("\">")
            .text(&chapter.title)
            .raw(" <span class=\"where\">")
            .text(&chapter.file)
            .raw("</span></h2>\n");
        for step in &chapter.steps {
            page.step(step, report.strict);
        }
        page.raw("\n");
    }
    page.raw("\n</body>\n</html>\n");
    Ok(page.out)
}
