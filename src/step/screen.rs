//! The trainee's terminal in `runbook step`: where [`crate::report::block`] draws its lines
//! (through the console crate: coloured unless `NO_COLOR` or not a terminal), the choices
//! offered, and single key presses when stdin is a terminal, or whole lines when it is not
//! (a pipe, a script), so the same session can be driven by a person or by a program.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use console::{Key, Term};

use crate::report::block;
use crate::session::Cancel;

/// What the trainee asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Run,
    Skip,
    Typed,
    Retry,
    Quit,
}

/// A key and what it does, as offered at a prompt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offer {
    /// `None`: the Enter key.
    pub(crate) key: Option<char>,
    pub(crate) action: Action,
    pub(crate) label: &'static str,
}

impl Offer {
    pub(crate) const fn enter(action: Action, label: &'static str) -> Self {
        Offer {
            key: None,
            action,
            label,
        }
    }

    pub(crate) const fn key(key: char, action: Action, label: &'static str) -> Self {
        Offer {
            key: Some(key),
            action,
            label,
        }
    }
}

/// How the trainee's answer was read, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Chose(Action),
    /// stdin ended (a script ran out of answers).
    EndOfInput,
    /// SIGINT, SIGTERM, SIGHUP or SIGQUIT while waiting.
    Interrupted,
}

/// The trainee's terminal.
#[derive(Debug)]
pub(crate) struct Screen {
    term: Term,
    /// stdin is a terminal: read single keys; otherwise read lines.
    keys: bool,
    /// Lines read from a non-terminal stdin by a helper thread (so a signal can end the wait).
    lines: Option<Arc<Mutex<std::sync::mpsc::Receiver<Option<String>>>>>,
    /// `None`: lines go to the terminal; a test's buffer otherwise.
    buffer: Option<Arc<Mutex<Vec<u8>>>>,
}

/// Where the screen's lines go: the terminal, or a test's buffer.
enum Sink<'s> {
    Term(&'s Term),
    Buffer(&'s Mutex<Vec<u8>>),
}

impl Write for Sink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Term(term) => term.write(bytes),
            Sink::Buffer(buffer) => {
                buffer
                    .lock()
                    .map_err(|_| std::io::Error::other("a test's buffer is poisoned"))?
                    .extend_from_slice(bytes);
                Ok(bytes.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Term(term) => term.flush(),
            Sink::Buffer(_) => Ok(()),
        }
    }
}

impl Default for Screen {
    fn default() -> Self {
        Self::new()
    }
}

impl Screen {
    pub(crate) fn new() -> Self {
        let keys = std::io::stdin().is_terminal();
        let lines = (!keys).then(|| {
            let (sender, receiver) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().lines() {
                    let Ok(line) = line else { break };
                    if sender.send(Some(line)).is_err() {
                        return;
                    }
                }
                let _ = sender.send(None);
            });
            Arc::new(Mutex::new(receiver))
        });
        Screen {
            term: Term::stdout(),
            keys,
            lines,
            buffer: None,
        }
    }

    /// A screen whose trainee answers `answers`, one line each, then ends their input; what
    /// it shows goes into the buffer returned with it. For tests: a session driven as a
    /// script drives it, without a terminal.
    #[cfg(test)]
    pub(crate) fn scripted(answers: &[&str]) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let (sender, receiver) = std::sync::mpsc::channel();
        for answer in answers {
            let _ = sender.send(Some((*answer).to_string()));
        }
        let _ = sender.send(None);
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let screen = Screen {
            term: Term::stdout(),
            keys: false,
            lines: Some(Arc::new(Mutex::new(receiver))),
            buffer: Some(Arc::clone(&buffer)),
        };
        (screen, buffer)
    }

    /// Writes one line. Its control characters other than runbook's colours are shown
    /// escaped ([`crate::printable::for_terminal`]): a chapter's text is not the trainee's
    /// terminal's to command.
    pub(crate) fn line(&self, text: impl std::fmt::Display) {
        let _ = writeln!(self.out(), "{text}");
    }

    /// Where lines are drawn ([`crate::report::block`] draws a block's): the terminal (or a
    /// test's buffer), every line through [`crate::printable::for_terminal`] (a chapter's
    /// text is not the trainee's terminal's to command). A line without its newline (the
    /// prompt) is written when the writer is dropped.
    pub(crate) fn out(&self) -> crate::printable::TerminalWriter<impl Write + '_> {
        let sink = match &self.buffer {
            Some(buffer) => Sink::Buffer(buffer),
            None => Sink::Term(&self.term),
        };
        crate::printable::TerminalWriter::new(sink)
    }

    pub(crate) fn blank(&self) {
        self.line("");
    }

    /// Shows the offers and waits for one of them.
    pub(crate) async fn ask(&self, offers: &[Offer], cancel: &Cancel) -> Answer {
        let shown: Vec<(Option<char>, &str)> = offers
            .iter()
            .map(|offer| (offer.key, offer.label))
            .collect();
        let prompt = block::choices(&shown);
        if self.keys {
            // Before the prompt shows, so that only keys pressed after seeing it count.
            crate::sys::discard_typed_ahead();
            self.line(&prompt);
            loop {
                if cancel.requested().is_some() {
                    return Answer::Interrupted;
                }
                // Raw mode: Ctrl-C arrives as a key, not as SIGINT. The read blocks, so it runs
                // on tokio's blocking pool (runbook's runtime has a single thread).
                let term = self.term.clone();
                let key = match tokio::task::spawn_blocking(move || term.read_key_raw()).await {
                    Ok(key) => key,
                    Err(_) => return Answer::EndOfInput,
                };
                let pressed = match key {
                    Ok(Key::Enter) => None,
                    Ok(Key::Char(c)) => Some(c.to_ascii_lowercase()),
                    Ok(Key::CtrlC) => return self.echo(Action::Quit, offers),
                    Ok(_) => continue,
                    Err(_) => return Answer::EndOfInput,
                };
                if let Some(offer) = offers.iter().find(|offer| offer.key == pressed) {
                    return self.echo(offer.action, offers);
                }
            }
        }
        let Some(lines) = &self.lines else {
            return Answer::EndOfInput;
        };
        loop {
            let _ = write!(self.out(), "{prompt} > ");
            let receiver = Arc::clone(lines);
            let mut waiting = tokio::task::spawn_blocking(move || {
                receiver.lock().ok().and_then(|r| r.recv().ok()).flatten()
            });
            let mut cancel = cancel.clone();
            let line = tokio::select! {
                line = &mut waiting => line.ok().flatten(),
                _ = cancel.wait() => {
                    self.blank();
                    return Answer::Interrupted;
                }
            };
            self.blank();
            let Some(line) = line else {
                return Answer::EndOfInput;
            };
            let answer = line.trim().to_ascii_lowercase();
            let pressed = answer.chars().next();
            if let Some(offer) = offers.iter().find(|offer| offer.key == pressed) {
                return Answer::Chose(offer.action);
            }
            block::not_a_choice(&mut self.out(), line.trim());
        }
    }

    fn echo(&self, action: Action, offers: &[Offer]) -> Answer {
        let label = offers
            .iter()
            .find(|offer| offer.action == action)
            .map_or("quit", |offer| offer.label);
        block::chosen(&mut self.out(), label);
        Answer::Chose(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFERS: [Offer; 3] = [
        Offer::enter(Action::Run, "run"),
        Offer::key('s', Action::Skip, "skip"),
        Offer::key('q', Action::Quit, "quit"),
    ];

    fn shown(buffer: &Mutex<Vec<u8>>) -> String {
        let bytes = buffer.lock().expect("not poisoned");
        console::strip_ansi_codes(&String::from_utf8_lossy(&bytes)).into_owned()
    }

    #[tokio::test]
    async fn a_line_answers_by_its_first_letter_and_another_is_refused() {
        let (screen, buffer) = Screen::scripted(&["x", " S kip"]);
        let answer = screen.ask(&OFFERS, &Cancel::never()).await;
        assert_eq!(answer, Answer::Chose(Action::Skip));
        let prompt = "Enter run · s skip · q quit > ";
        assert_eq!(
            shown(&buffer),
            format!("{prompt}\n`x` is not one of the choices\n{prompt}\n")
        );
    }

    #[tokio::test]
    async fn an_empty_line_is_enter_and_the_end_of_input_says_so() {
        let (screen, _buffer) = Screen::scripted(&["", "q"]);
        let cancel = Cancel::never();
        assert_eq!(
            screen.ask(&OFFERS, &cancel).await,
            Answer::Chose(Action::Run)
        );
        assert_eq!(
            screen.ask(&OFFERS, &cancel).await,
            Answer::Chose(Action::Quit)
        );
        assert_eq!(screen.ask(&OFFERS, &cancel).await, Answer::EndOfInput);
    }

    #[tokio::test]
    async fn a_signal_ends_the_wait_for_an_answer() {
        // No answer ever comes (the sender stays open), and a signal arrives.
        let (answers, receiver) = std::sync::mpsc::channel::<Option<String>>();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let screen = Screen {
            term: Term::stdout(),
            keys: false,
            lines: Some(Arc::new(Mutex::new(receiver))),
            buffer: Some(Arc::clone(&buffer)),
        };
        let (signal, cancel) = Cancel::new();
        let _ = signal.send(Some(libc::SIGTERM));
        assert_eq!(screen.ask(&OFFERS, &cancel).await, Answer::Interrupted);
        // The reading thread ends with its sender, so that the runtime can shut down.
        drop(answers);
    }
}
