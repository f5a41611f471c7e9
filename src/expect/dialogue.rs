//! The dialogue of a `pty` block: the questions its expected output answers, the answers
//! typed when they come, and the output rewritten as the course prints a dialogue.
//!
//! An answer is written at the end of its question's line between `<<` and `>>`:
//! `Candidate ['pg-2', 'pg-3'] []: <<pg-2>>`. The text before `<<` is the question (as the
//! line's kind reads it: literal, `(re)`, `(glob)`, `(esc)`), the text inside is typed,
//! followed by Enter; `{{ }}` works in both. The marking is at the end of the line, so cram's
//! annotations stay last (`Master \[pg-\d\]: <<{{ leader }}>> (re)`), and prompts' own
//! brackets (`[y/N]`, `['pg-2']`, `[]`) are never read as an answer.
//!
//! After the run, the output is rewritten so that it reads like the expected output: where an
//! answer was typed, `<<answer>>` and a newline stand in for the terminal's echo of the
//! answer and of Enter (whether the program echoed them or, for a password, did not), so
//! the same expected line matches either way and `--bless` writes the marking back. Reports
//! show the dialogue without the marking (`Candidate ['pg-2', 'pg-3'] []: pg-2`).

use super::actual::{ActualLine, strip_ansi, trim_trailing_blanks};
use super::escape;
use super::pattern::{self, Expected, LineKind, Matcher, glob_escape};
use crate::diagnostic::Diagnostic;
use crate::session::{Answers, Typed};
use crate::template::{self, Vars};

/// What opens and closes the typed part of a line.
pub(crate) const OPEN: &str = "<<";
pub(crate) const CLOSE: &str = ">>";

/// Splits a line's body into its question and its answer, when it ends with `<<answer>>`.
pub(crate) fn split_answer(body: &str) -> Option<(&str, &str)> {
    let inner = body.strip_suffix(CLOSE)?;
    let open = inner.rfind(OPEN)?;
    let answer = &inner[open + OPEN.len()..];
    if answer.contains(CLOSE) || answer.contains('\n') {
        return None;
    }
    Some((&inner[..open], answer))
}

/// The questions of a `pty` block's expected output as people read them (a pattern's fixed
/// text, `…` where it varies), each with the answer its transcript types, both as written.
pub(crate) fn questions(expected: &Expected) -> Vec<(String, String)> {
    expected
        .lines
        .iter()
        .filter_map(|line| {
            let (question, answer) = split_answer(&line.body)?;
            let question = match line.kind {
                LineKind::Glob => super::fixed_text::glob_as_text(question),
                LineKind::Regex => super::fixed_text::regex_as_text(question),
                _ => question.to_string(),
            };
            Some((question.trim_end().to_string(), answer.to_string()))
        })
        .collect()
}

/// The answered lines of a `pty` block's expected output whose question cannot be used (an
/// invalid regex before `<<`): errors before the run, since runbook could never recognise
/// the question (a line with `{{ }}` is checked once its values are known).
pub(crate) fn problems(expected: &Expected) -> Vec<Diagnostic> {
    expected
        .lines
        .iter()
        .filter(|line| !line.templated && line.kind != LineKind::AnyLines)
        .filter_map(|line| {
            let (question, _) = split_answer(&line.body)?;
            let error = pattern::compile(line.kind, question.trim_end()).err()?;
            Some(
                Diagnostic::new(
                    expected.origin.path(),
                    line.line,
                    format!("the question before `<<` cannot be used: {error}"),
                )
                .quoting(&line.source)
                .hint(format!(
                    "{}; the question is the text before `<<answer>>`, read as its line's kind",
                    error.hint
                )),
            )
        })
        .collect()
}

/// One question of the transcript and what to type when it comes.
#[derive(Debug, Clone)]
pub(crate) struct Question {
    /// Line of the expected output that asks it.
    pub(crate) line: usize,
    /// That line as written.
    pub(crate) source: String,
    matcher: Matcher,
    /// What is typed (values filled in, secrets included: never shown).
    answer: String,
    /// The question ends with a blank before `<<` (`[]: <<pg-2>>`): it is answered once
    /// that blank is printed too, or once the program has been quiet a moment without it.
    /// A program may print a prompt's text and its trailing blank in two writes (Python's
    /// click does: the text, then `input(" ")`); typed in between, the answer's echo would
    /// come before the blank, which would then begin the next question's line.
    trailing_blank: bool,
}

/// A line of the transcript that may be a question with its answer printed after it
/// (`Candidate ['pg2', 'pg3'] []: pg2`): any literal line without `<<answer>>` marking.
#[derive(Debug, Clone)]
struct InlineLine {
    /// Line of the expected output.
    line: usize,
    /// Its text, `{{ }}` filled in, trailing blanks dropped.
    text: String,
}

/// The last character of a prompt that waits for an answer (`Name:`, `[y/N]:`, `Sure?`,
/// `>`, `]`, a shell's `$`/`#`): only a quiet line ending so is taken for a question, so
/// that a program pausing after `Waiting for the leader...` gets nothing typed at it.
const PROMPT_ENDINGS: &[char] = &[':', '?', '>', ']', ')', '$', '#'];

/// The questions of one `pty` block, answered in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dialogue {
    questions: Vec<Question>,
    next: usize,
    /// Lines that may hold a question and its answer inline, in order, and the first one
    /// not passed yet.
    inline: Vec<InlineLine>,
    inline_next: usize,
    /// `file` of the expected output, for messages.
    origin: String,
}

impl Dialogue {
    /// The questions `expected` answers, their `{{ }}` filled in with `vars` (the real values:
    /// a secret is typed as itself).
    pub(crate) fn of(expected: Option<&Expected>, vars: &Vars) -> Result<Dialogue, String> {
        let Some(expected) = expected else {
            return Ok(Dialogue::default());
        };
        let origin = expected.origin.path().display().to_string();
        let mut questions = Vec::new();
        let mut inline = Vec::new();
        for line in &expected.lines {
            if line.kind == LineKind::AnyLines {
                continue;
            }
            let Some((question, answer)) = split_answer(&line.body) else {
                if line.kind == LineKind::Literal {
                    let text = if line.templated {
                        template::render(&line.body, vars)
                            .map_err(|error| format!("{origin}:{}: {error}", line.line))?
                    } else {
                        line.body.clone()
                    };
                    inline.push(InlineLine {
                        line: line.line,
                        text: text.trim_end().to_string(),
                    });
                }
                continue;
            };
            let at = |error: template::TemplateError| format!("{origin}:{}: {error}", line.line);
            let (question, answer) = if line.templated {
                let question = match line.kind {
                    LineKind::Regex => template::render_with(question, vars, regex::escape),
                    LineKind::Glob => template::render_with(question, vars, glob_escape),
                    _ => template::render(question, vars),
                }
                .map_err(at)?;
                (question, template::render(answer, vars).map_err(at)?)
            } else {
                (question.to_string(), answer.to_string())
            };
            let matcher = pattern::compile(line.kind, question.trim_end()).map_err(|error| {
                format!(
                    "{origin}:{}: `{}`: the question cannot be used: {error}",
                    line.line, line.source
                )
            })?;
            questions.push(Question {
                line: line.line,
                source: line.source.clone(),
                matcher,
                answer,
                trailing_blank: question.ends_with([' ', '\t']),
            });
        }
        Ok(Dialogue {
            questions,
            next: 0,
            inline,
            inline_next: 0,
            origin,
        })
    }

    /// The question the program has not asked yet, if one is left.
    pub(crate) fn waiting_for(&self) -> Option<&Question> {
        self.questions.get(self.next)
    }

    /// Why a block that did not pass may have failed, in dialogue terms: the question it was
    /// still waiting for, or that every answer was typed and the program asked more.
    /// `last_line` is the last line the program printed (secrets already replaced).
    pub(crate) fn explain(&self, last_line: &str, timed_out: bool) -> Option<String> {
        match self.waiting_for() {
            Some(question) => Some(format!(
                "runbook was waiting for the question of {}:{} (`{}`, {} of {}); the program's last line was `{last_line}`",
                self.origin,
                question.line,
                question.source,
                self.next + 1,
                self.questions.len(),
            )),
            None if timed_out && self.questions.is_empty() => {
                Some(match self.inline.get(self.inline_next) {
                    Some(next) => format!(
                        "the program was waiting, on `{last_line}`, and no line of the transcript still to come begins with it (the next is {}:{}, `{}`): a question asked in other words than the transcript prints?",
                        self.origin, next.line, next.text
                    ),
                    None => format!(
                        "the program was waiting, on `{last_line}`, after the last line of the transcript: a question the transcript does not answer?"
                    ),
                })
            }
            None if timed_out => Some(format!(
                "every answer of the transcript was typed ({}), and the program was still waiting, on `{last_line}`: a question the transcript does not answer?",
                self.questions.len()
            )),
            None => None,
        }
    }
}

/// The line a program is printing, as a terminal shows it: ANSI sequences removed, what
/// follows the last carriage return, trailing blanks dropped.
fn screen_line(line: &[u8]) -> ActualLine {
    let line = strip_ansi(line);
    let shown = match line.iter().rposition(|&byte| byte == b'\r') {
        Some(position) => &line[position + 1..],
        None => &line[..],
    };
    ActualLine::new(trim_trailing_blanks(shown).to_vec())
}

/// Whether the line a program is printing ends with a blank, as a terminal shows it.
fn ends_with_blank(line: &[u8]) -> bool {
    let line = strip_ansi(line);
    let shown = match line.iter().rposition(|&byte| byte == b'\r') {
        Some(position) => &line[position + 1..],
        None => &line[..],
    };
    matches!(shown.last(), Some(b' ' | b'\t'))
}

fn asks(matcher: &Matcher, line: &ActualLine) -> bool {
    match matcher {
        Matcher::Literal(bytes) => *bytes == line.bytes,
        Matcher::Regex(regex) => regex.is_match(&line.text),
        Matcher::Escaped(bytes) => escape::escaped_line_matches(bytes, &line.bytes),
        Matcher::AnyLines | Matcher::Unusable => false,
    }
}

impl Answers for Dialogue {
    fn answer_for(&mut self, line: &[u8]) -> Option<String> {
        let question = self.questions.get(self.next)?;
        if line.is_empty() || !asks(&question.matcher, &screen_line(line)) {
            return None;
        }
        if question.trailing_blank && !ends_with_blank(line) {
            return None;
        }
        self.next += 1;
        Some(question.answer.clone())
    }

    /// The program waits on `line`, which asks the next question but without the blank its
    /// transcript writes after it: the program prints none, so it is answered now.
    fn marked_answer_when_quiet(&mut self, line: &[u8]) -> Option<String> {
        let question = self.questions.get(self.next)?;
        if line.is_empty() || !asks(&question.matcher, &screen_line(line)) {
            return None;
        }
        self.next += 1;
        Some(question.answer.clone())
    }

    /// The program waits on `line`: if a line of the transcript still to come begins with
    /// what it printed there, and the printed part ends like a prompt, the rest of that line
    /// is the answer (nothing left: Enter alone). Lines before it are passed.
    fn answer_when_quiet(&mut self, line: &[u8]) -> Option<String> {
        let printed = screen_line(line);
        let printed = printed.text.trim_end();
        if printed.is_empty() || !printed.ends_with(PROMPT_ENDINGS) {
            return None;
        }
        let found = self.inline[self.inline_next..]
            .iter()
            .position(|candidate| {
                candidate
                    .text
                    .strip_prefix(printed)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
            })?;
        let index = self.inline_next + found;
        self.inline_next = index + 1;
        Some(self.inline[index].text[printed.len()..].trim().to_string())
    }
}

/// The output of a `pty` block as the transcript writes it: at each answer typed,
/// `<<answer>>` and a newline instead of the terminal's echo (the answer, if echoed, then
/// Enter's newline, if echoed or printed by the program), and CRLF read as LF.
/// `output` starts at byte `start` of the whole output (the rest was dropped).
pub(crate) fn transcript(output: &[u8], start: u64, typed: &[Typed]) -> Vec<u8> {
    let mut out = Vec::with_capacity(output.len() + typed.len() * 8);
    let mut position = 0;
    for answer in typed {
        let Some(at) = answer.at.checked_sub(start) else {
            continue;
        };
        let at = usize::try_from(at).unwrap_or(usize::MAX).min(output.len());
        if at < position {
            continue;
        }
        // The prompt may still have been arriving when its question was recognised (the
        // text first, its trailing blanks in a later write): those blanks are the prompt's.
        let mut at = at;
        while matches!(output.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        out.extend_from_slice(&output[position..at]);
        // An answer the transcript prints inline comes back inline, as the course shows it
        // (and as `--bless` keeps it); a marked one comes back marked.
        if answer.inline {
            if !answer.answer.is_empty() && !out.ends_with(b" ") {
                out.push(b' ');
            }
            out.extend_from_slice(answer.answer.as_bytes());
        } else {
            out.extend_from_slice(OPEN.as_bytes());
            out.extend_from_slice(answer.answer.as_bytes());
            out.extend_from_slice(CLOSE.as_bytes());
        }
        out.push(b'\n');
        position = at;
        if output[position..].starts_with(answer.answer.as_bytes()) {
            position += answer.answer.len();
        }
        if output[position..].starts_with(b"\r\n") {
            position += 2;
        } else if output[position..].starts_with(b"\n") {
            position += 1;
        }
    }
    out.extend_from_slice(&output[position..]);
    without_script_notices(&crlf_to_lf(&out))
}

/// What util-linux `script` prints when a timeout stops it, about itself rather than the
/// program: left out, so the transcript ends where the program stopped.
const SCRIPT_NOTICES: [&[u8]; 2] = [b"\nSession terminated, killing shell...", b" ...killed.\n"];

fn without_script_notices(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for notice in SCRIPT_NOTICES {
        if let Some(at) = out
            .windows(notice.len())
            .rposition(|window| window == notice)
        {
            out.drain(at..at + notice.len());
        }
    }
    out
}

fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\r' && bytes.get(index + 1) == Some(&b'\n') {
            index += 1;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    out
}

/// A line of a `pty` block as the trainee sees it: its answer without the marking
/// (`Name: <<bob>>` shows as `Name: bob`).
pub(crate) fn shown_line(line: &str) -> String {
    match split_answer(line) {
        Some((question, answer)) => format!("{question}{answer}"),
        None => line.to_string(),
    }
}

/// Every line of `text` as [`shown_line`] shows it.
pub(crate) fn shown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let (line, newline) = match piece.strip_suffix('\n') {
            Some(line) => (line, "\n"),
            None => (piece, ""),
        };
        out.push_str(&shown_line(line));
        out.push_str(newline);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::pattern::{Origin, parse};

    fn expected(text: &str) -> Expected {
        parse(text, Origin::File("x.out".into()), 1).expect("parses")
    }

    #[test]
    fn the_answer_is_the_marked_end_of_the_line() {
        assert_eq!(
            split_answer("Candidate ['pg-2', 'pg-3'] []: <<pg-2>>"),
            Some(("Candidate ['pg-2', 'pg-3'] []: ", "pg-2"))
        );
        assert_eq!(
            split_answer("Sure? [y/N]: <<>>"),
            Some(("Sure? [y/N]: ", ""))
        );
        assert_eq!(split_answer("Candidate ['pg-2', 'pg-3'] []:"), None);
        assert_eq!(split_answer("cat <<EOF"), None);
        assert_eq!(split_answer("a >> b"), None);
    }

    #[test]
    fn questions_are_answered_in_order_with_values_filled_in() {
        let vars: Vars = [("leader".to_string(), "pg-1".to_string())].into();
        let text = "Master [pg-1]: <<{{ leader }}>>\nCandidate \\['pg-2', 'pg-3'\\] \\[\\]: <<pg-2>> (re)\nWhen * [now]: <<>> (glob)\n";
        let mut dialogue = Dialogue::of(Some(&expected(text)), &vars).expect("questions");
        assert_eq!(
            dialogue.answer_for(b"Candidate ['pg-2', 'pg-3'] []: "),
            None,
            "not yet"
        );
        assert_eq!(
            dialogue.answer_for(b"\x1b[1mMaster [pg-1]: \x1b[0m"),
            Some("pg-1".into())
        );
        assert_eq!(
            dialogue.answer_for(b"Candidate ['pg-2', 'pg-3'] []: "),
            Some("pg-2".into())
        );
        assert_eq!(
            dialogue.answer_for(b"When should it happen (e.g. 2026-12-03T14:00) [now]: "),
            Some(String::new())
        );
        assert!(dialogue.waiting_for().is_none());
    }

    #[test]
    fn a_question_written_with_a_trailing_blank_waits_for_it() {
        let text = "Candidate ['pg-2', 'pg-3'] []: <<pg-2>>\nName:<<bob>>\n";
        let mut dialogue = Dialogue::of(Some(&expected(text)), &Vars::new()).expect("questions");
        assert_eq!(
            dialogue.answer_for(b"Candidate ['pg-2', 'pg-3'] []:"),
            None,
            "the prompt's blank is still to come"
        );
        assert_eq!(
            dialogue.answer_for(b"Candidate ['pg-2', 'pg-3'] []: "),
            Some("pg-2".into())
        );
        assert_eq!(dialogue.answer_for(b"Name:"), Some("bob".into()));
        let mut dialogue = Dialogue::of(Some(&expected(text)), &Vars::new()).expect("questions");
        assert_eq!(
            dialogue.marked_answer_when_quiet(b"Candidate ['pg-2', 'pg-3'] []:"),
            Some("pg-2".into()),
            "a program that prints no blank there gets its answer once quiet"
        );
        assert_eq!(dialogue.marked_answer_when_quiet(b"Nothing:"), None);
    }

    #[test]
    fn echo_or_no_echo_the_transcript_is_the_same() {
        let typed = |at, answer: &str| Typed {
            at,
            answer: answer.into(),
            inline: false,
        };
        let echoed = b"Name: bob\r\nhi bob\r\n";
        assert_eq!(
            transcript(echoed, 0, &[typed(6, "bob")]),
            b"Name: <<bob>>\nhi bob\n"
        );
        let hidden = b"Password: \nok\n";
        assert_eq!(
            transcript(hidden, 0, &[typed(10, "s3cret")]),
            b"Password: <<s3cret>>\nok\n"
        );
        let split_prompt = b"Primary [pg-1]: \r\nCandidate: ";
        assert_eq!(
            transcript(split_prompt, 0, &[typed(15, "")]),
            b"Primary [pg-1]: <<>>\nCandidate: ",
            "the prompt's trailing space came after the question was recognised"
        );
        let silent = b"Name: hi bob\n";
        assert_eq!(
            transcript(silent, 0, &[typed(6, "bob")]),
            b"Name: <<bob>>\nhi bob\n"
        );
        assert_eq!(shown_text("Name: <<bob>>\nhi bob\n"), "Name: bob\nhi bob\n");
    }

    #[test]
    fn a_quiet_line_that_begins_a_transcript_line_is_answered_with_its_rest() {
        let expected = parse(
            "Waiting for the leader... done\nCandidate ['pg2', 'pg3'] []: pg2\nWhen [now]:\nSure? [y/N]: y\nok\n",
            Origin::File("x.out".into()),
            1,
        )
        .expect("parses");
        let mut dialogue = Dialogue::of(Some(&expected), &Vars::new()).expect("a dialogue");
        // A pause after text that does not end like a prompt: nothing typed.
        assert_eq!(
            dialogue.answer_when_quiet(b"Waiting for the leader..."),
            None
        );
        // A prompt the transcript does not print: nothing typed.
        assert_eq!(dialogue.answer_when_quiet(b"Primary [pg-1]: "), None);
        assert_eq!(
            dialogue.answer_when_quiet(b"Candidate ['pg2', 'pg3'] []: "),
            Some("pg2".to_string())
        );
        assert_eq!(
            dialogue.answer_when_quiet(b"When [now]: "),
            Some(String::new()),
            "the line is the question alone: Enter"
        );
        // A question already passed is not answered again.
        assert_eq!(dialogue.answer_when_quiet(b"When [now]: "), None);
        assert_eq!(
            dialogue.answer_when_quiet(b"\x1b[1mSure? [y/N]: "),
            Some("y".into())
        );
    }
}
