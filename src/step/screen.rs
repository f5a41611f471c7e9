//! The trainee's terminal in `runbook step`: where [`crate::report::block`] draws its lines
//! (through the console crate: coloured unless `NO_COLOR` or not a terminal), the choices
//! offered, and single key presses when stdin is a terminal, or whole lines when it is not
//! (a pipe, a script), so the same session can be driven by a person or by a program.

use std::io::{BufRead, IsTerminal};
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
        }
    }

    /// Writes one line. Its control characters other than runbook's colours are shown
    /// escaped ([`crate::printable::for_terminal`]): a chapter's text is not the trainee's
    /// terminal's to command.
    pub(crate) fn line(&self, text: impl std::fmt::Display) {
        let _ = self
            .term
            .write_line(&crate::printable::for_terminal(&text.to_string()));
    }

    /// Where lines are drawn ([`crate::report::block`] draws a block's).
    /// Where the drawing of `report::block` goes: the terminal, every line through
    /// [`crate::printable::for_terminal`] (a chapter's text is not the trainee's terminal's
    /// to command).
    pub(crate) fn out(&self) -> crate::printable::TerminalWriter<&Term> {
        crate::printable::TerminalWriter::new(&self.term)
    }

    pub(crate) fn blank(&self) {
        let _ = self.term.write_line("");
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
            let _ = self.term.write_str(&format!("{prompt} > "));
            let _ = self.term.flush();
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
