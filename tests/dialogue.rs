//! `pty` blocks through the real binary on this machine, for what the transport contract does
//! not cover: `--bless` keeps the answers and their marking, and the HTML report and the
//! recordings show the dialogue as the trainee saw it (answers inline, no marking, the
//! secret masked), and a question the transcript does not answer. The dialogue itself on
//! every transport is in common/contract.rs.

mod common;

use common::Lab;
use runbook::report::model::Outcome;

const DIALOGUE: &str = "```bash pty id=ask\nread -p 'Candidate [pg-2, pg-3]: ' who\nread -s -p 'Password: ' pw; echo\necho \"switching to $who (${#pw} characters)\"\necho done\n```\n";

#[test]
fn bless_keeps_the_answers_and_their_marking() {
    let lab = Lab::new();
    lab.chapter("01.md", DIALOGUE);
    lab.expected(
        "01",
        "ask",
        "Candidate \\[pg-\\d, pg-\\d\\]: <<pg-2>> (re)\nPassword: <<{{ password }}>>\nswitching to pg-3 (8 characters)\n",
    );
    let secret = ["--var", "password=hunter22", "--secret", "password"];
    let args = |extra: &[&'static str]| {
        let mut args = vec!["verify", "workshop"];
        args.extend(secret);
        args.extend(extra);
        args
    };
    lab.runbook(&args(&[])).assert_code(1);
    lab.runbook(&args(&["--bless"]))
        .assert_code(0)
        .stdout_has("blessed expected/01/ask.out");
    assert_eq!(
        lab.read("expected/01/ask.out"),
        "Candidate \\[pg-\\d, pg-\\d\\]: <<pg-2>> (re)\nPassword: <<{{ password }}>>\nswitching to pg-2 (8 characters)\ndone\n",
        "the question's pattern and the answers kept, the secret still a template"
    );
    lab.runbook(&args(&[])).assert_code(0);
}

#[test]
fn reports_and_recordings_show_the_answers_inline() {
    let lab = Lab::new();
    lab.chapter("01.md", DIALOGUE);
    lab.expected(
        "01",
        "ask",
        "Candidate [pg-2, pg-3]: <<pg-2>>\nPassword: <<{{ password }}>>\nswitching to pg-2 (8 characters)\ndone\n",
    );
    lab.runbook(&[
        "verify",
        "workshop",
        "--record",
        "--var",
        "password=hunter22",
        "--secret",
        "password",
    ])
    .assert_code(0);
    let html = lab.read("report/index.html");
    assert!(html.contains("Candidate [pg-2, pg-3]: pg-2"), "{html}");
    assert!(!html.contains("&lt;&lt;pg-2"), "no marking in the report");
    let cast = lab.read("report/casts/01/ask.localhost.cast");
    assert!(cast.contains("Candidate [pg-2, pg-3]: pg-2"), "{cast}");
    assert!(cast.contains("Password: [secret:password]"), "{cast}");
    for text in [&html, &cast, &lab.read("report/run.json")] {
        assert!(!text.contains("hunter22"), "the secret stays masked");
        assert!(!text.contains("<<pg-2>>"), "no marking");
    }
}

/// A question the transcript does not answer: the program waits for an answer that never
/// comes, so the block times out; the reason says every answer was typed and names the line
/// the program stopped on, the diff shows that line beyond the transcript, and the program
/// is gone from the host before the next block runs.
#[test]
fn a_question_the_transcript_does_not_answer_times_out_and_says_so() {
    let lab = Lab::new();
    let pid_file = lab.path().join("asking.pid");
    lab.chapter(
        "01.md",
        &format!(
            "```bash pty id=ask timeout=2s\necho $$ > {pid}\nread -p 'Candidate: ' who\nread -p 'Are you sure? [y/N]: ' sure\necho \"$who $sure\"\n```\n\n```console\nCandidate: <<pg-2>>\npg-2\n```\n\n\
             ```bash id=gone\nsleep 0.2; grep -s State: /proc/$(cat {pid})/status | grep -qv zombie && echo alive || echo gone\n```\n",
            pid = pid_file.display()
        ),
    );
    lab.runbook(&["verify", "workshop", "--grace", "1s", "--keep-going"])
        .assert_code(1);
    let attempt = lab.attempt("01/ask");
    assert_eq!(attempt.outcome, Outcome::Timeout, "{attempt:?}");
    let message = attempt.message.clone().unwrap_or_default();
    assert!(
        message.contains("every answer of the transcript was typed (1)")
            && message.contains("`Are you sure? [y/N]:`"),
        "{message}"
    );
    let diff = attempt.diff.clone().expect("a diff");
    assert!(
        diff.unified.contains("+Are you sure? [y/N]:"),
        "{}",
        diff.unified
    );
    // Looked at during the run, while runbook and its session still live: after the run
    // ends, its sweep would hide a program the timeout left behind.
    let gone = lab.attempt("01/gone");
    assert_eq!(
        gone.output, "gone\n",
        "the asking program is still running: {gone:?}"
    );
}

/// A dialogue as courses print it, each answer after its question on the same line and no
/// marking: runbook types what the line holds beyond what the program printed, once the
/// program waits there; an empty rest is Enter alone. `--bless` keeps that form.
#[test]
fn answers_printed_after_their_questions_are_typed_where_the_program_asks() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash pty id=switch\nread -p \"Candidate ['pg2', 'pg3'] []: \" who\nread -p 'When [now]: ' when\nread -p 'Are you sure? [y/N]: ' sure\necho \"switching to $who at ${when:-now} ($sure)\"\n```\n",
    );
    lab.expected(
        "01",
        "switch",
        "Candidate ['pg2', 'pg3'] []: pg2\nWhen [now]:\nAre you sure? [y/N]: y\nswitching to pg2 at now (y)\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    assert_eq!(lab.step("01/switch").outcome, Outcome::Passed);
    // --bless writes the dialogue back in the course's form.
    lab.expected("01", "switch", "Candidate ['pg2', 'pg3'] []: pg3\nWhen [now]:\nAre you sure? [y/N]: y\nswitching to pg2 at now (y)\n");
    lab.runbook(&["verify", "workshop", "--bless"])
        .assert_code(0);
    assert_eq!(
        lab.read("expected/01/switch.out"),
        "Candidate ['pg2', 'pg3'] []: pg3\nWhen [now]:\nAre you sure? [y/N]: y\nswitching to pg3 at now (y)\n"
    );
}

/// Where the program asks in other words than the transcript prints (`Primary [pg-1]:` for
/// the course's `Master [pg-1]:`), nothing is typed: the block times out and says which line
/// the program waited on and which line of the transcript was next.
#[test]
fn a_question_asked_in_other_words_is_not_answered_and_the_failure_shows_it() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash pty id=switch timeout=4s\nread -p 'Primary [pg-1]: ' who\necho \"from $who\"\n```\n",
    );
    lab.expected("01", "switch", "Master [pg-1]: pg-1\nfrom pg-1\n");
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(1);
    assert_eq!(lab.step("01/switch").outcome, Outcome::Timeout);
    run.stdout_has("on `Primary [pg-1]:`");
    run.stdout_has("`Master [pg-1]: pg-1`");
}
