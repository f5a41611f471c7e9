//! What `verify`, `runbook step` and `runbook check` print for each kind of result (a pass, a
//! mismatch, a timeout, a dialogue, an unreachable host), drawn from results built as data
//! into a buffer, colours off, and compared byte for byte with `tests/snapshots/<front
//! end>/<case>.txt`. The buffer and the comparison serve the other snapshot tests too
//! (`list::snapshots`, `report::html::snapshots`). After changing what is printed on purpose:
//! `RUNBOOK_BLESS_SNAPSHOTS=1 cargo test --lib snapshots`, then review
//! `git diff tests/snapshots`.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use super::block::{self, Header, What};
use super::model::{
    AttemptResult, Event, HostResult, Outcome, Reporter, RunReport, StepKind, StepResult,
    Unreachable,
};
use super::result::{self, Front};
use super::terminal::TerminalReporter;
use crate::check::CheckReporter;
use crate::expect::diff;
use crate::expect::pattern::{self, Origin};
use crate::plan::Plan;
use crate::template::Vars;

/// A buffer a reporter owns a handle on while the test keeps another.
#[derive(Clone, Default)]
pub(crate) struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    /// What was drawn, colours off.
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.borrow();
        console::strip_ansi_codes(&String::from_utf8_lossy(&bytes)).into_owned()
    }
}

/// Compares `actual` with the snapshot `front_end/case.txt`, or writes it when blessing.
fn assert_snapshot(front_end: &str, case: &str, actual: &str) {
    assert_snapshot_file(front_end, &format!("{case}.txt"), actual);
}

/// Compares `actual` with `tests/snapshots/<folder>/<name>`, or writes it when blessing
/// (`RUNBOOK_BLESS_SNAPSHOTS`): also what `runbook list` prints and the HTML report.
pub(crate) fn assert_snapshot_file(folder: &str, name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(folder)
        .join(name);
    if std::env::var_os("RUNBOOK_BLESS_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(&path, actual).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (RUNBOOK_BLESS_SNAPSHOTS=1 writes it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs (RUNBOOK_BLESS_SNAPSHOTS=1 rewrites it)\n--- expected\n{expected}\n--- drawn\n{actual}",
        path.display()
    );
}

/// The five kinds of result every front end must draw, a dialogue both answered to its end
/// and stopped at a question the transcript does not have. Each can happen in all three front
/// ends: a `check` block may be a `pty` dialogue too.
#[derive(Debug, Clone, Copy)]
enum Case {
    Pass,
    Mismatch,
    Timeout,
    Dialogue,
    /// The program asked a question the transcript does not have and waited: a timeout whose
    /// reason names the question runbook waited for, with the transcript diffed against
    /// what the program printed.
    DialogueStopped,
    Unreachable,
}

const CASES: [Case; 6] = [
    Case::Pass,
    Case::Mismatch,
    Case::Timeout,
    Case::Dialogue,
    Case::DialogueStopped,
    Case::Unreachable,
];

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Pass => "pass",
            Case::Mismatch => "mismatch",
            Case::Timeout => "timeout",
            Case::Dialogue => "dialogue",
            Case::DialogueStopped => "dialogue-stopped",
            Case::Unreachable => "unreachable",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Case::Pass => "02-patroni/list",
            Case::Mismatch => "02-patroni/leader",
            Case::Timeout => "02-patroni/wait-replica",
            Case::Dialogue | Case::DialogueStopped => "02-patroni/switchover",
            Case::Unreachable => "02-patroni/status",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Case::Pass => "patronictl list\n",
            Case::Mismatch => "patronictl list --format json | jq -r '.[0].Member'\n",
            Case::Timeout => "until psql -c 'select 1'; do sleep 1; done\n",
            Case::Dialogue | Case::DialogueStopped => "patronictl switchover\n",
            Case::Unreachable => "systemctl status patroni\n",
        }
    }

    /// The dialogue's questions and the answers its transcript types.
    fn questions(self) -> Vec<(String, String)> {
        match self {
            Case::Dialogue | Case::DialogueStopped => vec![
                ("Candidate ['pg-2', 'pg-3'] []:".into(), "pg-2".into()),
                (
                    "When should the switchover take place (e.g. 2026-12-07T05:00 )  [now]:".into(),
                    String::new(),
                ),
                (
                    "Are you sure you want to switchover cluster demo? [y/N]:".into(),
                    "y".into(),
                ),
            ],
            _ => Vec::new(),
        }
    }

    /// The result as the executor would have made it.
    fn result(self) -> StepResult {
        let expected = Some(format!("expected/{}.out", self.id()));
        let host = |name: &str, outcome, output: &str, message: Option<&str>| HostResult {
            host: name.into(),
            user: "postgres".into(),
            outcome,
            expected: expected.clone(),
            attempts: vec![AttemptResult {
                number: 1,
                outcome,
                exit_code: Some(0),
                duration_ms: 812,
                output: output.into(),
                truncated: false,
                output_bytes: output.len() as u64,
                line_times_ms: Vec::new(),
                diff: None,
                message: message.map(str::to_string),
                unreachable: None,
                background: None,
                background_source: None,
            }],
            captures: Vars::new(),
        };
        let hosts = match self {
            Case::Pass => vec![
                host(
                    "pg-1",
                    Outcome::Passed,
                    "| pg-1 | Leader  | running |\n| pg-2 | Replica | streaming |\n",
                    None,
                ),
                host(
                    "pg-2",
                    Outcome::Passed,
                    "| pg-1 | Leader  | running |\n| pg-2 | Replica | streaming |\n",
                    None,
                ),
            ],
            Case::Mismatch => {
                let mut failed = host(
                    "pg-1",
                    Outcome::Mismatch,
                    "pg-2\nrunning\n",
                    Some("the output differs from the expected output"),
                );
                let expected = pattern::parse(
                    "pg-1\nrunning\n",
                    Origin::File("expected/02-patroni/leader.out".into()),
                    1,
                )
                .expect("valid");
                let rewritten = vec!["pg-2".to_string(), "running".to_string()];
                failed.attempts[0].diff = Some(diff::build(&expected.lines, &rewritten));
                vec![failed]
            }
            Case::Timeout => {
                let mut failed = host(
                    "pg-2",
                    Outcome::Timeout,
                    "psql: error: connection refused\npsql: error: connection refused\n",
                    Some("still running after 30s; stopped"),
                );
                failed.attempts[0].exit_code = None;
                vec![failed]
            }
            Case::Dialogue => vec![host(
                "pg-1",
                Outcome::Passed,
                "Candidate ['pg-2', 'pg-3'] []: pg-2\nWhen should the switchover take place (e.g. 2026-12-07T05:00 )  [now]: \nAre you sure you want to switchover cluster demo? [y/N]: y\nSuccessfully switched over to \"pg-2\"\n",
                None,
            )],
            Case::DialogueStopped => {
                let mut stopped = host(
                    "pg-1",
                    Outcome::Timeout,
                    "Primary [pg-1]: ",
                    Some(
                        "still running after 30s; stopped; runbook was waiting for the question of expected/02-patroni/switchover.out:1 (`Candidate ['pg-2', 'pg-3'] []: <<pg-2>>`, 1 of 3); the program's last line was `Primary [pg-1]: `",
                    ),
                );
                stopped.attempts[0].exit_code = None;
                let transcript = pattern::parse(
                    "Candidate ['pg-2', 'pg-3'] []: pg-2\nWhen should the switchover take place (e.g. 2026-12-07T05:00 )  [now]: \nAre you sure you want to switchover cluster demo? [y/N]: y\nSuccessfully switched over to \"pg-2\"\n",
                    Origin::File("expected/02-patroni/switchover.out".into()),
                    1,
                )
                .expect("valid");
                let printed = vec!["Primary [pg-1]: ".to_string()];
                stopped.attempts[0].diff = Some(diff::build(&transcript.lines, &printed));
                vec![stopped]
            }
            Case::Unreachable => {
                let mut lost = host(
                    "pg-3",
                    Outcome::Unreachable,
                    "",
                    Some("cannot connect to pg-3 (root@10.0.3.13:22): Connection refused"),
                );
                lost.attempts[0].exit_code = None;
                lost.attempts[0].unreachable = Some(Unreachable::NoShell);
                lost.expected = None;
                vec![lost]
            }
        };
        let outcome = Outcome::worst(hosts.iter().map(|h| h.outcome)).unwrap_or(Outcome::Error);
        StepResult {
            qualified_id: self.id().into(),
            id: self.id().rsplit('/').next().unwrap_or_default().into(),
            chapter: "02-patroni".into(),
            file: "workshop/02-patroni.md".into(),
            line: 42,
            section: Some("The cluster".into()),
            kind: StepKind::Command,
            command: self.command().into(),
            path: None,
            outcome,
            duration_ms: 812,
            message: hosts
                .iter()
                .find(|h| h.outcome.is_failure(false))
                .and_then(|h| {
                    Some(format!(
                        "{}: {}",
                        h.host,
                        h.last_attempt()?.message.as_ref()?
                    ))
                }),
            hosts,
            not_run: None,
            blessed: Vec::new(),
        }
    }

    /// The events the executor emits for this block, from its start.
    fn events(self) -> Vec<Event> {
        let result = self.result();
        vec![
            Event::StepStarted {
                index: 0,
                qualified_id: result.qualified_id.clone(),
                hosts: result.hosts.iter().map(|h| h.host.clone()).collect(),
            },
            Event::StepFinished { result },
        ]
    }
}

/// A workshop of one chapter, `02-patroni`, whose block the cases stand for.
fn workshop() -> (tempfile::TempDir, Plan) {
    let dir = tempfile::tempdir().expect("tempdir");
    let workshop = dir.path().join("workshop");
    std::fs::create_dir_all(&workshop).expect("mkdir");
    std::fs::write(
        workshop.join("02-patroni.md"),
        "# Patroni\n\n```bash check id=list on=pg-1\npatronictl list\n```\n",
    )
    .expect("write");
    std::fs::write(
        workshop.join("inventory.yml"),
        "all:\n  hosts:\n    pg-1: {ansible_host: 10.0.3.11}\n",
    )
    .expect("write");
    let options = crate::plan::PlanOptions {
        expected_dir: Some(dir.path().join("expected")),
        ..crate::plan::PlanOptions::for_workshop(&workshop)
    };
    let plan = crate::plan::build(&options).expect("a valid workshop");
    (dir, plan)
}

/// Every event of a run of `case`'s block alone, from its start to the run's end.
fn run_events(case: Case, plan: &Plan) -> Vec<Event> {
    let mut events = vec![Event::RunStarted { steps: 1 }];
    events.extend(case.events());
    let report = RunReport::assemble(
        &plan.workshop,
        false,
        vec![case.result()],
        "2026-12-07T04:00:00Z".into(),
        Duration::from_millis(812),
        None,
    );
    events.push(Event::RunFinished {
        report: Box::new(report),
    });
    events
}

/// What `verify` prints for `case`.
fn verify(case: Case, verbose: bool) -> String {
    let (_dir, plan) = workshop();
    let buffer = Buffer::default();
    let mut reporter =
        TerminalReporter::drawing_into(Box::new(buffer.clone()), false, verbose, false);
    for event in run_events(case, &plan) {
        reporter.event(&event);
    }
    buffer.text()
}

/// What `runbook step` prints for `case`: the block's header, then its run.
fn step(case: Case) -> String {
    let result = case.result();
    let mut buffer = Buffer::default();
    let questions = case.questions();
    let context = vec!["Patroni answers on every member; ask any of them.".to_string()];
    let hosts: Vec<&str> = result.hosts.iter().map(|h| h.host.as_str()).collect();
    let place = hosts.join(", ");
    let header = Header {
        chapter_number: 2,
        chapters: 5,
        chapter_title: "Patroni",
        block_number: 7,
        blocks: 31,
        section: result.section.as_deref(),
        context: &context,
        what: What::Run { check: false },
        place: &place,
        user: Some("postgres"),
        id: &result.qualified_id,
        file: Path::new(&result.file),
        line: result.line,
        body: &result.command,
        questions: &questions,
        width: 72,
    };
    block::header(&mut buffer, &header);
    for event in case.events() {
        block::live(&mut buffer, &event);
    }
    result::draw(&mut buffer, Front::Step { check: false }, &result);
    buffer.text()
}

/// What `runbook check` prints for `case` as the check that ends a chapter.
fn check(case: Case) -> String {
    let (_dir, plan) = workshop();
    let buffer = Buffer::default();
    let mut reporter = CheckReporter::drawing_into(Box::new(buffer.clone()), &plan, false);
    for event in run_events(case, &plan) {
        reporter.event(&event);
    }
    buffer.text()
}

#[test]
fn verify_prints_a_line_per_block_and_a_failure_under_it() {
    for case in CASES {
        assert_snapshot("verify", case.name(), &verify(case, false));
    }
}

#[test]
fn verify_verbose_shows_every_host_and_the_output_of_a_pass() {
    assert_snapshot("verify", "pass-verbose", &verify(Case::Pass, true));
}

#[test]
fn step_prints_the_header_the_run_and_its_result() {
    for case in CASES {
        assert_snapshot("step", case.name(), &step(case));
    }
}

#[test]
fn check_prints_a_line_per_check_and_a_failure_under_it() {
    for case in CASES {
        assert_snapshot("check", case.name(), &check(case));
    }
}

#[test]
fn step_tells_where_it_resumes_what_t_checks_and_where_it_stops() {
    let mut buffer = Buffer::default();
    let checks = ["02-patroni/members", "02-patroni/leader"];
    let counts = [("passed", 5), ("skipped", 1), ("typed", 2)];
    for notice in [
        block::Notice::ProgressNotUsed(
            ".runbook/progress.json was about the workshop /somewhere/else/workshop; starting afresh for /here/workshop",
        ),
        block::Notice::Resuming {
            id: "02-patroni/list",
            done: 6,
        },
        block::Notice::SavedIn(Path::new(".runbook/progress.json")),
        block::Notice::ReadingBack,
        block::Notice::Checking(&checks),
        block::Notice::Unchecked,
        block::Notice::Stopped {
            id: "02-patroni/switchover",
            interrupted: false,
        },
        block::Notice::Stopped {
            id: "02-patroni/switchover",
            interrupted: true,
        },
        block::Notice::Finished {
            next: Some("03-haproxy/install"),
            counts: &counts,
        },
        block::Notice::Finished {
            next: None,
            counts: &counts,
        },
        block::Notice::AlreadyAtTheEnd { done: 8 },
        block::Notice::NothingToFollow,
    ] {
        block::notice(&mut buffer, notice);
    }
    assert_snapshot("step", "notices", &buffer.text());
}

#[test]
fn step_shows_a_file_block_with_its_path_mode_and_owner() {
    let mut buffer = Buffer::default();
    let body = "[Unit]\nAfter=network-online.target\n";
    for (append, path) in [
        (false, "/etc/systemd/system/patroni.service"),
        (true, "/etc/hosts"),
    ] {
        let header = Header {
            chapter_number: 2,
            chapters: 5,
            chapter_title: "Patroni",
            block_number: 3,
            blocks: 31,
            section: Some("Patroni"),
            context: &[],
            what: What::File {
                path,
                append,
                mode: (!append).then_some(0o640),
                owner: (!append).then_some("postgres"),
            },
            place: "pg-1, pg-2",
            user: None,
            id: "02-patroni/unit",
            file: Path::new("workshop/02-patroni.md"),
            line: 12,
            body,
            questions: &[],
            width: 200,
        };
        block::header(&mut buffer, &header);
    }
    let mut wrote = Case::Pass.result();
    wrote.kind = StepKind::File;
    wrote.path = Some("/etc/systemd/system/patroni.service".into());
    result::draw(&mut buffer, Front::Step { check: false }, &wrote);
    assert_snapshot("step", "file", &buffer.text());
}

#[test]
fn step_offers_its_choices_on_one_line_and_echoes_the_one_made() {
    let mut buffer = Buffer::default();
    let block_offers = [
        (None, "run it, runbook typing the answers"),
        (Some('s'), "skip"),
        (Some('t'), "I typed it and its answers myself"),
        (Some('q'), "quit"),
    ];
    let failure_offers = [
        (Some('r'), "retry"),
        (Some('s'), "skip"),
        (Some('q'), "quit"),
    ];
    for offers in [&block_offers[..], &failure_offers[..]] {
        let _ = writeln!(buffer, "{}", block::choices(offers));
    }
    block::chosen(&mut buffer, "retry");
    block::not_a_choice(&mut buffer, "x");
    assert_snapshot("step", "choices", &buffer.text());
}

#[test]
fn check_tells_which_chapters_are_reached_and_how_far_the_lab_got() {
    use super::check_view::{self, ChapterState};
    let state = |title: &str, checks, passed, first_failure: Option<&str>| ChapterState {
        key: String::new(),
        title: title.into(),
        checks,
        passed,
        first_failure: first_failure.map(str::to_string),
    };
    let states = [
        state("etcd", 2, 2, None),
        state("Patroni", 3, 1, Some("02-patroni/leader")),
        state("Reading the logs", 0, 0, None),
        state("HAProxy", 1, 1, None),
    ];
    let mut buffer = Buffer::default();
    // The whole workshop: reached up to etcd, and a note that HAProxy passes too.
    check_view::chapters(&mut buffer, &states, crate::check::verdict(&states, false));
    // The first chapter with checks not reached.
    check_view::chapters(
        &mut buffer,
        &states[1..3],
        crate::check::verdict(&states[1..3], false),
    );
    // --chapter: chapters without checks left out; one chosen chapter not reached, then none.
    check_view::chapters(&mut buffer, &states, crate::check::verdict(&states, true));
    check_view::chapters(
        &mut buffer,
        &states[2..],
        crate::check::verdict(&states[2..], true),
    );
    assert_snapshot("check", "chapters", &buffer.text());
}

/// The HTML report (`index.html`) of a run of three blocks: a pass, a mismatch with its diff
/// and a timeout with the output it printed, compared whole with `tests/snapshots/html/`: a
/// change in the page (its markup, its style, what a failure opens) shows in the diff.
#[test]
fn html_report_shows_each_block_its_hosts_its_diff_and_its_output() {
    let (dir, plan) = workshop();
    let mut report = RunReport::assemble(
        &plan.workshop,
        false,
        [Case::Pass, Case::Mismatch, Case::Timeout]
            .into_iter()
            .map(Case::result)
            .collect(),
        "2026-12-07T04:00:00Z".into(),
        Duration::from_millis(2436),
        None,
    );
    // What changes from one build or one machine to the next: the version and the folders.
    report.runbook_version = "VERSION".into();
    report.workshop = "workshop".into();
    let page = super::html::render(&report).expect("the page renders");
    let page = page.replace(&format!("{}/", dir.path().display()), "");
    assert_snapshot_file("html", "report.html", &page);
}

/// Whatever a host printed or a message quoted stays text in the page: the page escapes it. (In a
/// browser, `tests/hostile_output.rs` checks the same with Chromium; this one needs nothing.)
#[test]
fn html_report_shows_output_as_text_never_markup() {
    let (_dir, plan) = workshop();
    let mut hostile = Case::Timeout.result();
    hostile.command = "echo '<img src=x onerror=alert(1)>'\n".into();
    hostile.hosts[0].attempts[0].output = "<script>alert(1)</script>\n".into();
    hostile.hosts[0].attempts[0].message = Some("stopped at <b>bold</b>".into());
    let report = RunReport::assemble(
        &plan.workshop,
        false,
        vec![hostile],
        "2026-12-07T04:00:00Z".into(),
        Duration::from_millis(812),
        None,
    );
    let page = super::html::render(&report).expect("the page renders");
    for markup in ["<script", "<img", "<b>bold"] {
        assert!(
            !page.contains(markup),
            "{markup} reached the page as markup"
        );
    }
    for text in ["&lt;script&gt;alert(1)", "&lt;img src=x", "&lt;b&gt;bold"] {
        assert!(page.contains(text), "{text} is not shown as text");
    }
}
