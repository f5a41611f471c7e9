//! runbook beside prysk 0.20 (bash) on `.t` files, two ways:
//! - converted to a runbook workshop (one command per block, `raw` since cram compares the
//!   bytes as printed, its expected output in an expected file as written): every command
//!   prysk passes must pass in runbook, but for the differences the manual lists
//!   (docs/src/cram.md), which must still be differences;
//! - as they are (`runbook verify FOLDER`): every command must get the same verdict from
//!   both (passed, failed or skipped), but for the listed differences; and `--bless` must
//!   write a file byte for byte as `prysk -i -y` does.
//!
//! The files: prysk's own and cram 0.7's (its test suite, which runs cram itself, and its
//! examples), from the source packages that `scripts/setup-test-machine` unpacks (never copied
//! into this repository), and `tests/prysk/cases/`, written here as cram users write them
//! (colours, escapes, Python-only regexes, braces, Latin-1, cram's reading of a file).

#![allow(clippy::print_stderr)] // The test prints how many commands the two tools agree on.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Lab, Run};
use runbook::report::model::Outcome;

/// Where `scripts/setup-test-machine` unpacks prysk's source package.
const PRYSK_SOURCE: &str = "/opt/runbook-tests/prysk-0.20.0";
/// The Python of the virtual environment where `scripts/setup-test-machine` installs prysk.
const PRYSK_PYTHON: &str = "/opt/runbook-tests/venv/bin/python3";
/// Where `scripts/setup-test-machine` unpacks cram 0.7's source package (its own test suite,
/// `tests/`, runs cram from that tree).
const CRAM_SOURCE: &str = "/opt/runbook-tests/cram-0.7";

/// Commands prysk passes and runbook does not, on purpose: (file, line, why). The manual's
/// "runbook and cram/prysk" (docs/src/cram.md) lists the same.
const DIFFERENCES: &[(&str, usize, &str)] = &[
    (
        "ansi.t",
        7,
        "prysk splits output at a lone carriage return too (Python's splitlines); runbook only at newlines",
    ),
    (
        "literal.t",
        14,
        "look-ahead: Python's regex has it, Rust's (linear time) does not",
    ),
    (
        "literal.t",
        16,
        "a back-reference: Python's regex has it, Rust's (linear time) does not",
    ),
];

/// Commands of cram 0.7's own files that cram passes and prysk fails, since prysk renamed
/// what it gives a test; runbook gives a test both names, so it passes them as cram does:
/// (file, line, why).
const CRAM_NOT_PRYSK: &[(&str, usize, &str)] = &[
    (
        "env.t",
        15,
        "`echo \"$CRAMTMP\"`: prysk calls it PRYSK_TEMP; runbook sets both",
    ),
    (
        "env.t",
        29,
        "`pwd` as `*/cramtests*/env.t (glob)`: prysk's folder is prysk-tests-*; runbook's path holds both names",
    ),
];

/// One command of a `.t` file.
#[derive(Debug)]
struct TestCommand {
    /// 1-based line of its `  $ ` line.
    line: usize,
    script: String,
    /// Its expected output, as written (the two-space indent removed), without `[N]`.
    expected: Vec<u8>,
    exit: Option<i32>,
    /// Prose that follows it, up to the next command.
    prose: Vec<String>,
}

fn prysk_source() -> PathBuf {
    std::env::var_os("RUNBOOK_PRYSK_SOURCE")
        .map_or_else(|| PathBuf::from(PRYSK_SOURCE), PathBuf::from)
}

fn cram_source() -> PathBuf {
    let source = std::env::var_os("RUNBOOK_CRAM_SOURCE")
        .map_or_else(|| PathBuf::from(CRAM_SOURCE), PathBuf::from);
    assert!(
        source.join("tests/test.t").is_file() && source.join("scripts/cram").is_file(),
        "cram 0.7's source package is not in {}: run scripts/setup-test-machine (it unpacks it there)",
        source.display()
    );
    source
}

fn examples() -> PathBuf {
    let examples = prysk_source().join("examples");
    assert!(
        examples.join("test.t").is_file(),
        "prysk's .t files are not in {}: run scripts/setup-test-machine (it installs prysk 0.20 \
         in a virtual environment and unpacks its source package there)",
        examples.display()
    );
    examples
}

/// The `.t` files prysk runs in `folder`: not hidden, not empty, in name order.
fn t_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("read the examples")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "t")
                && !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'))
                && std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() > 0)
        })
        .collect();
    files.sort();
    files
}

/// Splits a `.t` file into its leading prose and its commands, as cram reads it.
fn parse_t(bytes: &[u8]) -> (Vec<String>, Vec<TestCommand>) {
    let mut intro = Vec::new();
    let mut commands: Vec<TestCommand> = Vec::new();
    for (index, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if let Some(script) = line.strip_prefix(b"  $ ") {
            commands.push(TestCommand {
                line: index + 1,
                script: format!("{}\n", String::from_utf8_lossy(script)),
                expected: Vec::new(),
                exit: None,
                prose: Vec::new(),
            });
        } else if let Some(more) = line.strip_prefix(b"  > ")
            && let Some(command) = commands.last_mut()
        {
            command.script.push_str(&String::from_utf8_lossy(more));
            command.script.push('\n');
        } else if let Some(output) = line.strip_prefix(b"  ")
            && let Some(command) = commands.last_mut()
        {
            command.expected.extend_from_slice(output);
            command.expected.push(b'\n');
        } else {
            let text = String::from_utf8_lossy(line).into_owned();
            match commands.last_mut() {
                Some(command) => command.prose.push(text),
                None => intro.push(text),
            }
        }
    }
    for command in &mut commands {
        // `[N]`, the last line, is the exit status.
        let text = String::from_utf8_lossy(&command.expected).into_owned();
        let last = text
            .trim_end_matches('\n')
            .rsplit('\n')
            .next()
            .unwrap_or("");
        if let Some(code) = last
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|code| code.parse().ok())
        {
            command.exit = Some(code);
            let keep = command.expected.len() - last.len() - 1;
            command.expected.truncate(keep);
        }
    }
    (intro, commands)
}

/// Replaces `$TMPDIR` (which prysk writes for its temporary folder in output) by a template.
fn tmpdir_as_template(expected: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(expected.len());
    let mut rest = expected;
    while let Some(at) = rest.windows(7).position(|window| window == b"$TMPDIR") {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"{{ prysk_tmpdir }}");
        rest = &rest[at + 7..];
    }
    out.extend_from_slice(rest);
    out
}

/// Writes the workshop: one chapter per `.t` file, starting with the environment prysk gives
/// a test (its variables, its own folder); one block per command.
fn convert(lab: &Lab, files: &[PathBuf], testdir: &Path, prysk_temp: &Path) {
    for (index, path) in files.iter().enumerate() {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let key = format!("{:02}-{}", index + 1, name.trim_end_matches(".t"));
        let (intro, commands) = parse_t(&std::fs::read(path).expect("read .t"));
        let mut chapter = format!("# {name}\n\n");
        chapter.push_str(&format!(
            "```bash id=prysk-env\nexport LANG=C LC_ALL=C LANGUAGE=C TZ=GMT CDPATH= COLUMNS=80 GREP_OPTIONS= TESTSHELL=/bin/bash\n\
             export PRYSK_TEMP='{temp}' TMPDIR='{temp}/tmp' TEMP='{temp}/tmp' TMP='{temp}/tmp' TESTDIR='{testdir}' TESTFILE='{name}'\n\
             mkdir -p \"$TMPDIR\" \"$PRYSK_TEMP/{name}\" && cd \"$PRYSK_TEMP/{name}\"\n```\n\n",
            temp = prysk_temp.display(),
            testdir = testdir.display(),
        ));
        for line in intro {
            chapter.push_str(&line);
            chapter.push('\n');
        }
        for command in commands {
            let id = format!("line-{}", command.line);
            // cram files have no templates: a block with `{{` in it is verbatim.
            let verbatim = command.script.contains("{{")
                || command.expected.windows(2).any(|pair| pair == b"{{");
            let mut fence = format!("\n```bash id={id} raw");
            if let Some(code) = command.exit {
                fence.push_str(&format!(" exit={code}"));
            }
            if verbatim {
                fence.push_str(" verbatim");
            }
            chapter.push_str(&format!("{fence}\n{}```\n\n", command.script));
            for line in &command.prose {
                chapter.push_str(line);
                chapter.push('\n');
            }
            let expected = if verbatim {
                command.expected.clone()
            } else {
                tmpdir_as_template(&command.expected)
            };
            let file = lab.path().join(format!("expected/{key}/{id}.out"));
            std::fs::create_dir_all(file.parent().expect("folder")).expect("mkdir");
            std::fs::write(file, expected).expect("write expected");
        }
        lab.chapter(&format!("{key}.md"), &chapter);
    }
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// prysk's verdict per (file, line).
fn prysk_verdicts(examples: &Path) -> BTreeMap<(String, usize), String> {
    prysk_verdicts_with(examples, &[])
}

/// prysk's verdict per (file, line), prysk run with `env` added to its environment.
fn prysk_verdicts_with(examples: &Path, env: &[(&str, &str)]) -> BTreeMap<(String, usize), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/prysk/verdicts.py");
    let output = Command::new(PRYSK_PYTHON)
        .arg(script)
        .arg(examples)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|error| {
            panic!("{PRYSK_PYTHON} does not run ({error}): run scripts/setup-test-machine (it installs prysk there)")
        });
    assert!(
        output.status.success(),
        "prysk's verdicts failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("verdicts are JSON");
    verdicts
        .iter()
        .map(|verdict| {
            (
                (
                    verdict["file"].as_str().expect("file").to_string(),
                    verdict["line"].as_u64().expect("line") as usize,
                ),
                verdict["status"].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

/// How the two tools judged the commands of a folder of `.t` files.
struct Agreement {
    commands: usize,
    passed_by_prysk: usize,
    agreed: usize,
    /// Commands prysk passes that runbook does not (and are not listed), or listed ones that
    /// now pass.
    disagreements: Vec<String>,
    runbook_terminal: String,
}

/// Runs the `.t` files of `source` through prysk and, converted, through runbook.
fn agreement(source: &Path) -> Agreement {
    let lab = Lab::new();
    // prysk writes `.err` files beside the files it runs: it gets its own copy, and the
    // workshop's TESTDIR another, as pristine as the source.
    let folder = source.file_name().expect("a folder name");
    let for_prysk = lab.path().join("prysk").join(folder);
    let testdir = lab.path().join("testdir").join(folder);
    copy_folder(source, &for_prysk);
    copy_folder(source, &testdir);
    let files = t_files(&testdir);
    assert!(!files.is_empty(), "no .t files in {}", source.display());

    let verdicts = prysk_verdicts(&for_prysk);
    let prysk_temp = lab.path().join("prysk-tests-runbook");
    convert(&lab, &files, &testdir, &prysk_temp);
    let tmpdir_var = format!("prysk_tmpdir={}/tmp", prysk_temp.display());
    let run = lab.runbook(&[
        "verify",
        "workshop",
        "--keep-going",
        "--timeout",
        "20s",
        "--var",
        &tmpdir_var,
    ]);
    assert!(
        !run.stderr.contains("nothing was run"),
        "runbook refused the workshop:\n{}",
        run.stderr
    );

    let mut result = Agreement {
        commands: verdicts.len(),
        passed_by_prysk: 0,
        agreed: 0,
        disagreements: Vec::new(),
        runbook_terminal: run.stdout.clone(),
    };
    for ((file, line), status) in &verdicts {
        let step = lab.step(&format!("{}/line-{line}", chapter_key(&files, file)));
        let outcome = step.outcome;
        if status != "passed" {
            continue;
        }
        result.passed_by_prysk += 1;
        let listed = DIFFERENCES
            .iter()
            .find(|(listed_file, listed_line, _)| listed_file == file && listed_line == line);
        match (outcome, listed) {
            (Outcome::Passed, None) => result.agreed += 1,
            (Outcome::Passed, Some((_, _, why))) => {
                result.agreed += 1;
                result.disagreements.push(format!(
                    "{file}:{line} now passes: drop it from the listed differences ({why})"
                ));
            }
            (_, Some(_)) => {}
            (outcome, None) => result.disagreements.push(format!(
                "{file}:{line}: prysk passes it, runbook says {outcome:?}: {}",
                serde_json::to_string_pretty(&step.hosts).unwrap_or_default()
            )),
        }
    }
    result
}

/// Both tools gave every command the same verdict, and prysk passed enough of them for the
/// comparison to mean something.
fn assert_no_disagreement(
    what: &str,
    disagreements: &[String],
    runbook_terminal: &str,
    passed_by_prysk: usize,
    at_least: usize,
) {
    assert!(
        disagreements.is_empty(),
        "{}\n--- runbook's terminal\n{runbook_terminal}",
        disagreements.join("\n")
    );
    assert!(
        passed_by_prysk >= at_least,
        "prysk passed only {passed_by_prysk} commands of {what}"
    );
}

fn assert_agreement(what: &str, result: &Agreement, at_least: usize) {
    eprintln!(
        "{what}: {} of {} commands pass in prysk; runbook agrees on {} of them",
        result.passed_by_prysk, result.commands, result.agreed
    );
    assert_no_disagreement(
        what,
        &result.disagreements,
        &result.runbook_terminal,
        result.passed_by_prysk,
        at_least,
    );
}

#[test]
fn runbook_agrees_with_prysk_on_prysks_own_test_files() {
    let result = agreement(&examples());
    assert_agreement("prysk's examples", &result, 30);
}

#[test]
fn runbook_agrees_with_prysk_on_files_written_as_cram_users_write_them() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/prysk/cases");
    let result = agreement(&cases);
    assert_agreement("tests/prysk/cases", &result, 25);
}

/// The chapter key of `.t` file `name`.
fn chapter_key(files: &[PathBuf], name: &str) -> String {
    let index = files
        .iter()
        .position(|path| {
            path.file_name()
                .is_some_and(|file| file.to_string_lossy() == name)
        })
        .expect("a converted file");
    format!("{:02}-{}", index + 1, name.trim_end_matches(".t"))
}

/// How prysk and runbook, given the same `.t` files as they are, judged their commands.
struct DirectAgreement {
    commands: usize,
    passed_by_prysk: usize,
    passed_by_runbook: usize,
    /// Commands whose verdicts differ: passed in one and not the other, or skipped in one
    /// and not the other.
    disagreements: Vec<String>,
    runbook_terminal: String,
}

/// Copies the folder `tree` (recursively) to `to`.
fn copy_tree(tree: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
    let status = Command::new("cp")
        .arg("-R")
        .arg(tree)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -R {} {}",
        tree.display(),
        to.display()
    );
}

/// Runs the `.t` files in `tree`/`folder` through prysk and, unconverted, through runbook
/// (`runbook verify FOLDER`), each on a pristine copy of `tree` (a test suite may use files
/// beside it, as cram's runs cram from `$TESTDIR/..`), both with `env` added. The commands
/// `known` lists (file, line, why) must get different verdicts; every other the same.
fn direct_agreement(
    tree: &Path,
    folder: &str,
    env: &[(&str, &str)],
    known: &[(&str, usize, &str)],
) -> DirectAgreement {
    let lab = Lab::new();
    let for_prysk = lab.path().join("prysk-copy");
    let for_runbook = lab.path().join("runbook-copy");
    copy_tree(tree, &for_prysk);
    copy_tree(tree, &for_runbook);
    let verdicts = prysk_verdicts_with(&for_prysk.join(folder), env);
    let run = Run::from(
        lab.command(&[
            "verify",
            &for_runbook.join(folder).to_string_lossy(),
            "--keep-going",
            "--timeout",
            "60s",
            "--report",
            "report",
        ])
        .envs(env.iter().copied())
        .output()
        .expect("run runbook"),
    );
    assert!(
        !run.stderr.contains("nothing was run"),
        "runbook refused the test files:\n{}",
        run.stderr
    );
    let steps: Vec<_> = lab
        .report()
        .chapters
        .into_iter()
        .flat_map(|chapter| chapter.steps)
        .collect();
    let mut result = DirectAgreement {
        commands: verdicts.len(),
        passed_by_prysk: 0,
        passed_by_runbook: 0,
        disagreements: Vec::new(),
        runbook_terminal: run.stdout.clone(),
    };
    for ((file, line), status) in &verdicts {
        let step = steps.iter().find(|step| {
            step.line == *line && Path::new(&step.file).file_name() == Some(file.as_ref())
        });
        let Some(step) = step else {
            result.disagreements.push(format!(
                "{file}:{line}: prysk runs it ({status}), runbook has no step there"
            ));
            continue;
        };
        let runbook_passed = step.outcome == Outcome::Passed;
        result.passed_by_prysk += usize::from(status == "passed");
        result.passed_by_runbook += usize::from(runbook_passed);
        let agrees = match status.as_str() {
            "passed" => runbook_passed,
            "skipped" => step.outcome == Outcome::Skipped,
            _ => !runbook_passed && step.outcome != Outcome::Skipped,
        };
        let listed = known
            .iter()
            .find(|(listed_file, listed_line, _)| listed_file == file && listed_line == line);
        if let Some((_, _, why)) = listed {
            if agrees {
                result.disagreements.push(format!(
                    "{file}:{line} now gets the same verdict from both: drop it from the listed differences ({why})"
                ));
            }
            continue;
        }
        if !agrees {
            result.disagreements.push(format!(
                "{file}:{line}: prysk says {status}, runbook says {:?}: {}",
                step.outcome,
                serde_json::to_string_pretty(&step.hosts).unwrap_or_default()
            ));
        }
    }
    result
}

fn assert_direct_agreement(what: &str, result: &DirectAgreement, at_least: usize) {
    eprintln!(
        "{what}, read directly: {} commands; prysk passes {}, runbook {}; {} disagreements",
        result.commands,
        result.passed_by_prysk,
        result.passed_by_runbook,
        result.disagreements.len()
    );
    assert_no_disagreement(
        what,
        &result.disagreements,
        &result.runbook_terminal,
        result.passed_by_prysk,
        at_least,
    );
}

#[test]
fn runbook_reads_prysks_test_files_as_they_are_and_agrees_with_prysk() {
    let result = direct_agreement(&prysk_source(), "examples", &[], &[]);
    assert_direct_agreement("prysk's examples", &result, 30);
}

#[test]
fn runbook_reads_files_written_as_cram_users_write_them_as_they_are() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/prysk/cases");
    let result = direct_agreement(&cases, ".", &[], DIFFERENCES);
    assert_direct_agreement("tests/prysk/cases", &result, 25);
}

#[test]
fn runbook_runs_crams_own_test_suite_as_it_is_and_agrees_with_prysk() {
    // cram's suite runs cram itself (`$PYTHON $TESTDIR/../scripts/cram`), on its examples.
    let source = cram_source();
    for folder in ["tests", "examples"] {
        let result = direct_agreement(&source, folder, &[("PYTHON", PRYSK_PYTHON)], CRAM_NOT_PRYSK);
        assert_direct_agreement(&format!("cram 0.7's {folder}"), &result, 10);
    }
}

#[test]
fn bless_rewrites_a_test_file_in_place_byte_for_byte_as_prysk_i_does() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/prysk/bless/needs-blessing.t");
    let original = std::fs::read(&fixture).expect("the fixture");
    let lab = Lab::new();
    for folder in ["prysk", "runbook"] {
        std::fs::create_dir_all(lab.path().join(folder)).expect("mkdir");
        std::fs::write(lab.path().join(folder).join("needs-blessing.t"), &original).expect("copy");
    }
    let prysk = Path::new(PRYSK_PYTHON).with_file_name("prysk");
    let patched = Command::new(&prysk)
        .args(["-i", "-y", "--shell=/bin/bash", "needs-blessing.t"])
        .current_dir(lab.path().join("prysk"))
        .output()
        .unwrap_or_else(|error| panic!("{} does not run ({error})", prysk.display()));
    assert_eq!(
        patched.status.code(),
        Some(1),
        "prysk -i reports the failures it patched"
    );
    let blessed = lab.runbook(&["verify", "runbook", "--bless"]);
    blessed.assert_code(0).stdout_has("blessed");
    let by_prysk = std::fs::read(lab.path().join("prysk/needs-blessing.t")).expect("read");
    let by_runbook = std::fs::read(lab.path().join("runbook/needs-blessing.t")).expect("read");
    assert_ne!(by_prysk, original, "prysk -i changed the file");
    assert_eq!(
        String::from_utf8_lossy(&by_runbook),
        String::from_utf8_lossy(&by_prysk),
        "runbook --bless writes the file as prysk -i does"
    );
    assert_eq!(by_runbook, by_prysk, "byte for byte");
    lab.runbook(&["verify", "runbook"]).assert_code(0);
}

#[test]
fn bless_writes_prysks_failing_examples_and_the_cases_as_prysk_i_does() {
    // ansi.t and literal.t hold the listed differences (prysk blesses a lone `\r` as a line
    // break, and keeps Python-only regexes that match); env.t writes its own folder's path.
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/prysk/cases");
    let files: Vec<PathBuf> = ["fail.t", "test.t", "missingeol.t"]
        .iter()
        .map(|name| examples().join(name))
        .chain(
            ["braces.t", "escapes.t", "latin1.t"]
                .iter()
                .map(|name| cases.join(name)),
        )
        .collect();
    let lab = Lab::new();
    for folder in ["prysk", "runbook"] {
        std::fs::create_dir_all(lab.path().join(folder)).expect("mkdir");
        for file in &files {
            std::fs::copy(
                file,
                lab.path()
                    .join(folder)
                    .join(file.file_name().expect("a name")),
            )
            .expect("copy");
        }
    }
    let prysk = Path::new(PRYSK_PYTHON).with_file_name("prysk");
    let names: Vec<String> = files
        .iter()
        .map(|file| {
            file.file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Command::new(&prysk)
        .args(["-i", "-y", "--shell=/bin/bash"])
        .args(&names)
        .current_dir(lab.path().join("prysk"))
        .output()
        .unwrap_or_else(|error| panic!("{} does not run ({error})", prysk.display()));
    lab.runbook(&["verify", "runbook", "--bless", "--keep-going"]);
    let fail_t = std::fs::read(lab.path().join("runbook/fail.t")).expect("read");
    assert_ne!(
        fail_t,
        std::fs::read(examples().join("fail.t")).expect("read"),
        "fail.t was blessed"
    );
    for name in &names {
        let by_prysk = std::fs::read(lab.path().join("prysk").join(name)).expect("read");
        let by_runbook = std::fs::read(lab.path().join("runbook").join(name)).expect("read");
        assert_eq!(
            String::from_utf8_lossy(&by_runbook),
            String::from_utf8_lossy(&by_prysk),
            "{name}: runbook --bless writes it as prysk -i does"
        );
        assert_eq!(by_runbook, by_prysk, "{name}, byte for byte");
    }
}
