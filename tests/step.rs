//! `runbook step` driven as a trainee would drive it: in a real terminal (tmux), with keys
//! sent by `send-keys` and the screen read back with `capture-pane`, through a fixture
//! workshop on this machine; plus the line prompts used when stdin is not a terminal.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Lab, runbook_binary};

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// A tmux server of this test's own (its own socket), running one command in a pane.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `runbook ARGS` in `dir` in a 120x50 pane; `color` keeps colours on.
    fn start(dir: &Path, args: &str, color: bool) -> Tmux {
        let socket = format!(
            "runbook-test-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::SeqCst)
        );
        // The pane stays after runbook ends, showing its exit status.
        let script = format!(
            "{} {args}; echo EXITED=$?; sleep 120",
            runbook_binary().display()
        );
        let mut command = Command::new("tmux");
        command
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", "120", "-y", "50", "-c"])
            .arg(dir)
            .arg(script)
            .env_remove("CLICOLOR_FORCE")
            .env_remove("TMUX");
        if color {
            command.env_remove("NO_COLOR");
        } else {
            command.env("NO_COLOR", "1");
        }
        let status = command.status().unwrap_or_else(|error| {
            panic!("cannot start tmux ({error}): run scripts/setup-test-machine, which installs it")
        });
        assert!(status.success(), "tmux new-session failed: {status}");
        Tmux { socket }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Types keys as tmux names them (`Enter`, `t`, `C-c`).
    fn keys(&self, keys: &str) {
        let output = self.tmux(&["send-keys", "-t", "t", keys]);
        assert!(output.status.success(), "send-keys {keys}");
    }

    /// The pane with its history, wrapped lines joined; `escapes` keeps colour codes.
    fn screen_with(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-J", "-S", "-2000", "-t", "t"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.tmux(&args).stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.screen_with(false)
    }

    /// Waits until the pane shows `text`; fails with the screen after 30 s.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        self.wait_for_nth(text, 1)
    }

    /// Waits until the pane shows `text` `count` times (a prompt is shown once per block, and
    /// runbook only takes keys pressed after it shows the prompt they answer).
    #[track_caller]
    fn wait_for_nth(&self, text: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= count {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {text:?} {count} times:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Two chapters: a capture, a check, a file, a block whose output depends on a state file,
/// and a block using the capture.
fn workshop() -> Lab {
    let lab = Lab::new();
    lab.chapter(
        "01-setup.md",
        "# Setup\n\n## Make a token\n\nWe create a token file that later chapters read.\n\n```bash id=token\necho \"token-$$\" | tee token.txt\n```\n\n```console\ntoken-(?P<token>\\d+) (re)\n```\n\n```bash check id=token-exists\ntest -s token.txt && echo present\n```\n\n```console\npresent\n```\n\n## Write a setting\n\nThe service reads one setting.\n\n```ini file=setting.ini\nanswer = 42\n```\n",
    );
    lab.chapter(
        "02-use.md",
        "# Use\n\nThe state file must say ready.\n\n```bash id=state\ncat state.txt\n```\n\n```console\nready\n```\n\n```bash id=use-token\necho \"using {{ token }}\"\n```\n\n```console\nusing {{ token }}\n```\n",
    );
    lab.write("state.txt", "not yet\n");
    lab
}

fn progress(lab: &Lab) -> serde_json::Value {
    serde_json::from_str(&lab.read(".runbook/progress.json")).expect("progress.json is JSON")
}

#[test]
fn a_trainee_runs_types_retries_skips_quits_and_resumes() {
    let lab = workshop();
    let tmux = Tmux::start(lab.path(), "step workshop", false);

    // Where they are: chapter, section, prose, command with host and user.
    let screen = tmux.wait_for("Enter run");
    for expected in [
        "Chapter 1 of 2 · Setup",
        "block 1 of 5",
        "§ Make a token",
        "We create a token file that later chapters read.",
        "on localhost as root",
        "$ echo \"token-$$\" | tee token.txt",
        "s skip · t I typed it myself · q quit",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }

    // Enter runs it: output and a pass.
    tmux.keys("Enter");
    let screen = tmux.wait_for("block 2 of 5");
    assert!(screen.contains("✔ passed on localhost"), "{screen}");
    let token = lab.read("token.txt").trim().to_string();
    assert!(screen.contains(&format!("│ {token}")), "{screen}");

    // `t` on a check block: the check is read-only, runbook runs it. The block's header is
    // printed before its prompt, so the screen is read once the prompt shows.
    let screen = tmux.wait_for("Enter check");
    assert!(screen.contains("check on localhost as root"), "{screen}");
    tmux.keys("t");
    let screen = tmux.wait_for("block 3 of 5");
    assert!(screen.contains("✔ check passed"), "{screen}");

    // `t` on a file block the trainee has not written yet: runbook reads it back, it differs.
    tmux.wait_for("Enter write it");
    tmux.keys("t");
    let screen = tmux.wait_for("r check again · s skip · q quit");
    assert!(
        screen.contains("runbook reads the file back and compares it"),
        "{screen}"
    );
    assert!(screen.contains("No such file or directory"), "{screen}");
    assert!(
        !lab.path().join("setting.ini").exists(),
        "`t` must not write the file"
    );
    // They write it in their own terminal, then check again.
    lab.write("setting.ini", "answer = 42\n");
    tmux.keys("r");
    let screen = tmux.wait_for("block 4 of 5");
    assert!(screen.contains("Chapter 2 of 2 · Use"), "{screen}");

    // A mismatch: coloured diff (here without colour) and a hint; retry after fixing.
    tmux.wait_for_nth("Enter run", 2);
    tmux.keys("Enter");
    let screen = tmux.wait_for("r retry · s skip · q quit");
    for expected in [
        "✘ mismatch on localhost: the output differs from the expected output",
        "expected: workshop/02-use.md:10 (console block)",
        "10 - ready",
        "+ not yet",
        "hint: expected `ready` but the output has `not yet` (expected line 10)",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
    tmux.keys("r");
    let screen = tmux.wait_for("→ retry");
    assert!(!screen.contains("block 5 of 5"), "still failing: {screen}");
    // Still "not yet": a second failure; now skip it.
    tmux.wait_for_nth("r retry · s skip · q quit", 2);
    tmux.keys("s");
    tmux.wait_for("block 5 of 5");
    // The captured token fills in the next command (read once the block's prompt shows: the
    // header line comes first and the command a moment later).
    let screen = tmux.wait_for_nth("Enter run", 3);
    let block_5 = &screen[screen.rfind("block 5 of 5").expect("block 5 shown")..];
    assert!(
        block_5.contains(&format!("$ echo \"using {}\"", &token["token-".len()..])),
        "{screen}"
    );

    // Quit: progress saved.
    tmux.keys("q");
    let screen = tmux.wait_for("EXITED=");
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert!(
        screen.contains("Stopped at 02-use/use-token. Progress saved"),
        "{screen}"
    );
    drop(tmux);
    let saved = progress(&lab);
    assert_eq!(saved["next"], "02-use/use-token");
    assert_eq!(saved["blocks"]["01-setup/token"]["status"], "passed");
    assert_eq!(saved["blocks"]["01-setup/token-exists"]["status"], "typed");
    assert_eq!(saved["blocks"]["01-setup/block-3"]["status"], "typed");
    assert_eq!(saved["blocks"]["02-use/state"]["status"], "skipped");
    assert_eq!(saved["captures"]["token"], &token["token-".len()..]);

    // Resume in a new terminal: same block, the capture still known.
    let tmux = Tmux::start(lab.path(), "step workshop", false);
    let screen = tmux.wait_for("Enter run");
    assert!(
        screen.contains("Resuming at 02-use/use-token (4 blocks done"),
        "{screen}"
    );
    assert!(!screen.contains("block 1 of 5"), "{screen}");
    tmux.keys("Enter");
    let screen = tmux.wait_for("EXITED=");
    assert!(
        screen.contains(&format!("│ using {}", &token["token-".len()..])),
        "{screen}"
    );
    assert!(
        screen.contains("End of the workshop: 2 passed, 1 skipped, 2 typed, checked."),
        "{screen}"
    );
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert!(progress(&lab)["next"].is_null());

    // Done: a new session says so; --from jumps back.
    let tmux = Tmux::start(lab.path(), "step workshop --from 02-use/state", false);
    let screen = tmux.wait_for("Enter run");
    assert!(screen.contains("block 4 of 5"), "{screen}");
    assert!(!screen.contains("Resuming"), "{screen}");
    tmux.keys("q");
    tmux.wait_for("EXITED=0");
}

#[test]
fn typed_command_is_checked_by_the_check_blocks_after_it() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# One\n\n```bash id=create\ntouch created\n```\n\n```bash check id=is-created\ntest -e created && echo yes\n```\n\n```console\nyes\n```\n\n```bash id=free\necho free\n```\n\n```bash id=last\necho last\n```\n",
    );
    let tmux = Tmux::start(lab.path(), "step workshop", false);
    tmux.wait_for("Enter run");
    // Typed, but not really done: the check fails.
    tmux.keys("t");
    let screen = tmux.wait_for("r check again");
    assert!(
        screen.contains("runbook checks the state your command should have left: 01/is-created"),
        "{screen}"
    );
    assert!(
        !lab.path().join("created").exists(),
        "`t` must not run the command"
    );
    lab.write("created", "");
    tmux.keys("r");
    // The check passed and is not offered again: straight to block 3.
    let screen = tmux.wait_for("block 3 of 4");
    assert!(!screen.contains("block 2 of 4"), "{screen}");
    // No check follows this one: runbook says it cannot tell.
    tmux.wait_for_nth("Enter run", 2);
    tmux.keys("t");
    let screen = tmux.wait_for("block 4 of 4");
    assert!(
        screen.contains(
            "No `check` block follows this block, so runbook cannot tell whether it worked"
        ),
        "{screen}"
    );
    tmux.wait_for_nth("Enter run", 3);
    tmux.keys("q");
    tmux.wait_for("EXITED=0");
    let saved = progress(&lab);
    assert_eq!(saved["blocks"]["01/create"]["status"], "typed");
    assert_eq!(saved["blocks"]["01/is-created"]["status"], "passed");
    assert_eq!(saved["blocks"]["01/free"]["status"], "typed-unchecked");
}

#[test]
fn ctrl_c_stops_a_running_block_and_keeps_the_place() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# Slow\n\n```bash id=first\necho first\n```\n\n```bash id=slow\nsleep 60\n```\n",
    );
    let tmux = Tmux::start(lab.path(), "step workshop", false);
    tmux.wait_for("Enter run");
    tmux.keys("Enter");
    tmux.wait_for_nth("Enter run", 2);
    tmux.keys("Enter");
    // The second block's run (the first block printed this line once already).
    tmux.wait_for_nth("running on localhost", 2);
    let started = Instant::now();
    tmux.keys("C-c");
    let screen = tmux.wait_for("EXITED=");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(screen.contains("Interrupted at 01/slow"), "{screen}");
    assert!(screen.contains("EXITED=130"), "{screen}");
    assert_eq!(progress(&lab)["next"], "01/slow");
}

#[test]
fn a_key_pressed_while_a_block_runs_does_not_answer_the_next_prompt() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# Busy\n\n```bash id=busy\nsleep 1; echo done\n```\n\n```bash id=next\ntouch next-ran\n```\n",
    );
    let tmux = Tmux::start(lab.path(), "step workshop", false);
    tmux.wait_for("Enter run");
    tmux.keys("Enter");
    tmux.wait_for("running on localhost");
    // An impatient second Enter while the block runs.
    tmux.keys("Enter");
    tmux.wait_for_nth("Enter run", 2);
    std::thread::sleep(Duration::from_millis(700));
    let screen = tmux.screen();
    assert_eq!(screen.matches("→ run").count(), 1, "{screen}");
    assert!(
        !lab.path().join("next-ran").exists(),
        "the next block ran unseen"
    );
    tmux.keys("q");
    tmux.wait_for("EXITED=0");
}

#[test]
fn colours_show_in_a_terminal_unless_no_color() {
    let lab = workshop();
    let coloured = Tmux::start(lab.path(), "step workshop", true);
    coloured.wait_for("Enter run");
    let screen = coloured.screen_with(true);
    assert!(
        screen.contains("\u{1b}["),
        "no colour codes in a terminal:\n{screen}"
    );
    coloured.keys("q");
    coloured.wait_for("EXITED=0");

    let plain = Tmux::start(lab.path(), "step workshop --restart", false);
    plain.wait_for("Enter run");
    let screen = plain.screen_with(true);
    assert!(
        !screen.contains("\u{1b}["),
        "colour codes despite NO_COLOR:\n{screen}"
    );
    plain.keys("q");
    plain.wait_for("EXITED=0");
}

#[test]
fn without_a_terminal_it_reads_one_answer_a_line() {
    let lab = workshop();
    let mut child = lab
        .command(&["step", "workshop"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runbook starts");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        // Run the first block, skip the check, then an unknown answer, then quit.
        stdin.write_all(b"\ns\nx\nq\n").expect("answers");
    }
    let output = child.wait_with_output().expect("runbook ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Enter run · s skip · t I typed it myself · q quit > "),
        "{stdout}"
    );
    assert!(stdout.contains("✔ passed on localhost"), "{stdout}");
    assert!(stdout.contains("`x` is not one of the choices"), "{stdout}");
    assert!(stdout.contains("Stopped at 01-setup/block-3"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "no colour when piped: {stdout}");
    let saved = progress(&lab);
    assert_eq!(
        saved["blocks"]["01-setup/token-exists"]["status"],
        "skipped"
    );

    // Input that ends is a quit, and the place is kept.
    let run = lab.runbook(&["step", "workshop"]);
    run.assert_code(0)
        .stdout_has("Resuming at 01-setup/block-3")
        .stdout_has("Stopped at 01-setup/block-3");
}

#[test]
fn unknown_from_is_an_error_before_anything_runs() {
    let lab = workshop();
    lab.runbook(&["step", "workshop", "--from", "tokn"])
        .assert_code(2)
        .stderr_has("no block `tokn` to start from");
    assert!(!lab.path().join("token.txt").exists());
}

/// Runs `runbook ARGS` with `answers` on a piped stdin; returns (status, stdout).
fn answer(lab: &Lab, args: &[&str], answers: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = lab
        .command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runbook starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answers.as_bytes())
        .expect("answers");
    let output = child.wait_with_output().expect("runbook ends");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_chapter_ends_where_the_next_session_goes_on() {
    let lab = workshop();
    let (status, stdout) = answer(
        &lab,
        &["step", "workshop", "--chapter", "01-setup"],
        "s\ns\ns\n",
    );
    assert_eq!(status, Some(0), "{stdout}");
    assert!(
        stdout.contains("End of this part; `runbook step` goes on with 02-use/state: 3 skipped."),
        "{stdout}"
    );
    assert_eq!(progress(&lab)["next"], "02-use/state");
    let (status, stdout) = answer(&lab, &["step", "workshop"], "q\n");
    assert_eq!(status, Some(0), "{stdout}");
    assert!(
        stdout.contains("Resuming at 02-use/state (3 blocks done"),
        "{stdout}"
    );
    // --restart forgets it all.
    let (_, stdout) = answer(&lab, &["step", "workshop", "--restart"], "q\n");
    assert!(
        stdout.contains("block 1 of 5") && !stdout.contains("Resuming"),
        "{stdout}"
    );
    assert_eq!(progress(&lab)["next"], "01-setup/token");
    assert_eq!(
        progress(&lab)["blocks"].as_object().map(|b| b.len()),
        Some(0)
    );
}

#[test]
fn a_dialogue_shows_its_questions_and_runbook_types_the_answers() {
    let lab = Lab::new();
    lab.chapter(
        "01-ask.md",
        "# Ask\n\n```bash pty id=ask\nread -p 'Candidate [pg-2, pg-3]: ' who; read -p 'Sure? [y/N]: ' sure; echo \"$who $sure\"\n```\n\n\
         ```console\nCandidate [pg-2, pg-3]: <<pg-2>>\nSure\\? \\[y/N\\]: <<y>> (re)\npg-2 y\n```\n",
    );
    let (status, stdout) = answer(&lab, &["step", "workshop"], "\n");
    assert_eq!(status, Some(0), "{stdout}");
    for shown in [
        "It asks, and the course answers (Enter: runbook types these answers; t: you type them in your own terminal):",
        "    Candidate [pg-2, pg-3]: pg-2",
        "    Sure? [y/N]: y",
        "Enter run it, runbook typing the answers · s skip · t I typed it and its answers myself · q quit",
        "  │ Candidate [pg-2, pg-3]: pg-2",
        "✔ passed on localhost",
    ] {
        assert!(stdout.contains(shown), "`{shown}` in:\n{stdout}");
    }
}

/// Issue 24: a chapter's heading, prose and command reached the trainee's terminal with their
/// escape sequences live (a title change, a screen clear, a clipboard write, a cursor move).
/// They are shown escaped.
#[test]
fn escape_sequences_in_a_chapter_are_shown_not_obeyed() {
    let lab = Lab::new();
    lab.chapter(
        "01-hostile.md",
        "# Title \u{1b}]0;pwned\u{7}here\n\nProse \u{1b}[2J cleared \u{1b}[10;1H moved.\n\n```bash id=copy\necho '\u{1b}]52;c;ZXZpbA==\u{7}'\n```\n",
    );
    let (code, stdout) = answer(&lab, &["step", "workshop"], "\nq\n");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "a raw escape reached the terminal: {stdout:?}"
    );
    for shown in [
        "Title \\x1b]0;pwned\\x07here",
        "Prose \\x1b[2J cleared \\x1b[10;1H moved.",
        "echo '\\x1b]52;c;ZXZpbA==\\x07'",
    ] {
        assert!(stdout.contains(shown), "{shown:?} not in {stdout}");
    }
}
