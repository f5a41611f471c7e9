//! A block as `runbook step` shows it: before it runs, where the trainee is (chapter, section,
//! the prose before it), what runs where and the questions a dialogue asks; while it runs,
//! where it started and its retries; between blocks, the notices (resuming, what `t` checks,
//! where it stopped) and the choices offered. Its result after a run is drawn by
//! [`super::result`], the renderer `verify` and `check` share. Everything is drawn
//! into a `&mut dyn Write`: the trainee's terminal, or a buffer in a test. The front end
//! decides what to show and when; the lines are drawn here.

use std::io::Write;
use std::path::Path;

use console::Style;

use super::model::Event;

/// What a block does, for its header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum What<'a> {
    /// A command, or a read-only `check`.
    Run { check: bool },
    /// SQL typed into psql (connected to `database` when it opens; `None`: psql's default).
    Sql {
        check: bool,
        database: Option<&'a str>,
    },
    /// A `file=` block: the file's path (rendered), replaced or appended to.
    File {
        path: &'a str,
        append: bool,
        mode: Option<u32>,
        owner: Option<&'a str>,
    },
}

/// Everything the header of a block shows, as the front end found it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    /// From 1.
    pub(crate) chapter_number: usize,
    pub(crate) chapters: usize,
    pub(crate) chapter_title: &'a str,
    /// From 1.
    pub(crate) block_number: usize,
    pub(crate) blocks: usize,
    pub(crate) section: Option<&'a str>,
    /// The last lines of prose before the block.
    pub(crate) context: &'a [String],
    pub(crate) what: What<'a>,
    /// Where it runs: "pg-1, pg-2", or why that is not known yet.
    pub(crate) place: &'a str,
    /// Who it runs as, when known.
    pub(crate) user: Option<&'a str>,
    pub(crate) id: &'a str,
    pub(crate) file: &'a Path,
    pub(crate) line: usize,
    /// The script or the file's content, as it will run (rendered, secrets masked).
    pub(crate) body: &'a str,
    /// A dialogue's questions and the answers its transcript gives (rendered, masked).
    pub(crate) questions: &'a [(String, String)],
    /// The terminal's width in columns.
    pub(crate) width: usize,
}

fn line(out: &mut dyn Write, text: impl std::fmt::Display) {
    // A trainee's terminal that went away cannot be told about it.
    let _ = writeln!(out, "{text}");
}

/// The header of a block: where the trainee is, the prose before it, what will run where.
pub(crate) fn header(out: &mut dyn Write, header: &Header<'_>) {
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    line(out, "");
    let width = header.width.clamp(40, 100);
    let title = format!(
        "── Chapter {} of {} · {} ",
        header.chapter_number, header.chapters, header.chapter_title
    );
    let counter = format!(" block {} of {} ──", header.block_number, header.blocks);
    let fill = width.saturating_sub(
        console::measure_text_width(&title) + console::measure_text_width(&counter),
    );
    line(
        out,
        Style::new()
            .blue()
            .bold()
            .apply_to(format!("{title}{}{counter}", "─".repeat(fill))),
    );
    if let Some(section) = header.section
        && section != header.chapter_title
    {
        line(out, bold.apply_to(format!("§ {section}")));
    }
    for context in header.context {
        line(out, format!("  {context}"));
    }
    line(out, "");
    let place = match header.user {
        Some(user) if !user.is_empty() => format!("{} as {user}", header.place),
        _ => header.place.to_string(),
    };
    let what = match header.what {
        What::Run { check: true } => format!("check on {place}"),
        What::Run { check: false } => format!("on {place}"),
        What::Sql { check, database } => {
            let session = match database {
                Some(database) => format!("psql ({database})"),
                None => "psql".to_string(),
            };
            let role = if check { "check in" } else { "in" };
            format!("{role} {session} on {place}")
        }
        What::File {
            path,
            append,
            mode,
            owner,
        } => {
            let verb = if append {
                "add to the end of file"
            } else {
                "file"
            };
            let mut what = format!("{verb} {} on {place}", bold.apply_to(path));
            if let Some(mode) = mode {
                what.push_str(&format!(", mode {mode:04o}"));
            }
            if let Some(owner) = owner {
                what.push_str(&format!(", owner {owner}"));
            }
            what
        }
    };
    line(
        out,
        format!(
            "{}   {}",
            Style::new().magenta().bold().apply_to(what),
            dim.apply_to(format!(
                "{}  {}:{}",
                header.id,
                header.file.display(),
                header.line
            ))
        ),
    );
    let file = matches!(header.what, What::File { .. });
    let sql = matches!(header.what, What::Sql { .. });
    let (prefix, continued) = match (file, sql) {
        (true, _) => ("│ ", "│ "),
        // As psql shows what is typed at its prompts.
        (false, true) => ("=# ", "-# "),
        (false, false) => ("$ ", "  "),
    };
    for (number, body_line) in header.body.lines().enumerate() {
        let lead = if number == 0 { prefix } else { continued };
        line(
            out,
            format!("  {}{}", dim.apply_to(lead), bold.apply_to(body_line)),
        );
    }
    questions(out, header.questions);
    line(out, "");
}

/// The questions a `pty` block will ask and the answers its transcript gives them.
fn questions(out: &mut dyn Write, questions: &[(String, String)]) {
    if questions.is_empty() {
        return;
    }
    let dim = Style::new().dim();
    line(
        out,
        dim.apply_to(
            "  It asks, and the course answers (Enter: runbook types these answers; t: you type them in your own terminal):",
        ),
    );
    for (question, answer) in questions {
        let answer = if answer.is_empty() {
            "(Enter)"
        } else {
            answer.as_str()
        };
        line(
            out,
            format!(
                "    {question} {}",
                Style::new().green().bold().apply_to(answer)
            ),
        );
    }
}

/// While a block runs: where it started, and each attempt that is tried again.
pub(crate) fn live(out: &mut dyn Write, event: &Event) {
    let dim = Style::new().dim();
    match event {
        Event::StepStarted { hosts, .. } if !hosts.is_empty() => {
            line(
                out,
                dim.apply_to(format!("  running on {} …", hosts.join(", "))),
            );
        }
        Event::AttemptFinished {
            host,
            attempt,
            retrying: true,
            ..
        } => {
            line(
                out,
                dim.apply_to(format!(
                    "  attempt {} on {host}: {}; trying again",
                    attempt.number,
                    attempt.outcome.label()
                )),
            );
        }
        _ => {}
    }
}

/// What `runbook step` tells the trainee between blocks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Notice<'a> {
    /// Why the saved progress was not used.
    ProgressNotUsed(&'a str),
    NothingToFollow,
    /// An earlier session reached the end; `done` blocks are recorded.
    AlreadyAtTheEnd {
        done: usize,
    },
    Resuming {
        id: &'a str,
        done: usize,
    },
    SavedIn(&'a Path),
    /// The trainee quit, or a signal stopped the session, at block `id`.
    Stopped {
        id: &'a str,
        interrupted: bool,
    },
    /// The selection is done: `next` is where the next session goes on (`None`: the end of
    /// the workshop); `counts`, how many blocks ended with each status.
    Finished {
        next: Option<&'a str>,
        counts: &'a [(&'a str, usize)],
    },
    /// `t` on a `file=` block.
    ReadingBack,
    /// `t` on a command with no `check` after it.
    Unchecked,
    /// `t` on a command: the checks that follow it, by id.
    Checking(&'a [&'a str]),
}

/// One notice between blocks.
pub(crate) fn notice(out: &mut dyn Write, notice: Notice<'_>) {
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    match notice {
        Notice::ProgressNotUsed(note) => line(out, Style::new().yellow().apply_to(note)),
        Notice::NothingToFollow => line(out, "No block to follow in this selection."),
        Notice::AlreadyAtTheEnd { done } => line(
            out,
            format!(
                "You reached the end of this workshop ({done} blocks done). `runbook step --restart` starts again; `--from ID` or `--chapter NAME` jumps to a block."
            ),
        ),
        Notice::Resuming { id, done } => line(
            out,
            format!(
                "Resuming at {} ({done} blocks done; `--restart` starts again).",
                bold.apply_to(id)
            ),
        ),
        Notice::SavedIn(path) => line(
            out,
            dim.apply_to(format!(
                "Progress is saved in {} after every block.",
                path.display()
            )),
        ),
        Notice::Stopped { id, interrupted } => {
            line(out, "");
            let how = if interrupted { "Interrupted" } else { "Stopped" };
            line(
                out,
                format!(
                    "{how} at {}. Progress saved: `runbook step` resumes there.",
                    bold.apply_to(id)
                ),
            );
        }
        Notice::Finished { next, counts } => {
            let summary: Vec<String> = counts
                .iter()
                .map(|(label, count)| format!("{count} {label}"))
                .collect();
            line(out, "");
            let what = match next {
                None => "End of the workshop".to_string(),
                Some(next) => format!("End of this part; `runbook step` goes on with {next}"),
            };
            line(
                out,
                format!("{}: {}.", bold.apply_to(what), summary.join(", ")),
            );
        }
        Notice::ReadingBack => line(
            out,
            dim.apply_to("runbook reads the file back and compares it with the block's content."),
        ),
        Notice::Unchecked => line(
            out,
            Style::new().yellow().apply_to(
                "No `check` block follows this block, so runbook cannot tell whether it worked: marked as typed, not checked.",
            ),
        ),
        Notice::Checking(names) => line(
            out,
            dim.apply_to(format!(
                "runbook checks the state your command should have left: {}",
                names.join(", ")
            )),
        ),
    }
}

/// The choices offered at a prompt, on one line: each key (`None`: Enter) and what it does.
pub(crate) fn choices(offers: &[(Option<char>, &str)]) -> String {
    let key_style = Style::new().bold().cyan();
    let shown: Vec<String> = offers
        .iter()
        .map(|(key, label)| {
            let key = key.map_or("Enter".to_string(), |c| c.to_string());
            format!("{} {label}", key_style.apply_to(key))
        })
        .collect();
    shown.join(&Style::new().dim().apply_to(" · ").to_string())
}

/// The choice a key press made, echoed under the prompt.
pub(crate) fn chosen(out: &mut dyn Write, label: &str) {
    line(out, Style::new().dim().apply_to(format!("→ {label}")));
}

/// An answer read from a line that is none of the choices.
pub(crate) fn not_a_choice(out: &mut dyn Write, answer: &str) {
    line(out, format!("`{answer}` is not one of the choices"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sql_block_is_shown_as_typed_into_psql() {
        let mut out = Vec::new();
        let header = Header {
            chapter_number: 1,
            chapters: 1,
            chapter_title: "Roles",
            block_number: 2,
            blocks: 3,
            section: None,
            context: &[],
            what: What::Sql {
                check: false,
                database: Some("tp1"),
            },
            place: "pg-1",
            user: Some("postgres"),
            id: "roles/members",
            file: Path::new("workshop/roles.md"),
            line: 12,
            body: "SELECT name\nFROM members;\n",
            questions: &[],
            width: 72,
        };
        super::header(&mut out, &header);
        let text = console::strip_ansi_codes(&String::from_utf8_lossy(&out)).into_owned();
        assert!(text.contains("in psql (tp1) on pg-1 as postgres"), "{text}");
        assert!(text.contains("=# SELECT name\n"), "{text}");
        assert!(text.contains("-# FROM members;\n"), "{text}");
    }
}
