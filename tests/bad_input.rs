//! The bad-input corpus (`tests/bad_input/<case>/`): every broken workshop fails with exit
//! status 2, the exact error it must produce (file:line, the quoted line, a hint), and nothing
//! runs. See tests/bad_input/README.md.

mod common;

use std::path::{Path, PathBuf};

use common::Lab;

/// Cases where no chapter can be read at all, so there is no marker block to hold back.
const NO_MARKER: &[&str] = &["empty-workshop", "missing-workshop-folder"];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/bad_input exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read case") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Any file of the workshop holds the marker command.
fn has_marker(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let path = entry.path();
            if path.is_dir() {
                has_marker(&path)
            } else {
                std::fs::read(&path)
                    .map(|bytes| {
                        String::from_utf8_lossy(&bytes).contains("```bash id=first\ntouch ran\n```")
                    })
                    .unwrap_or(false)
            }
        })
}

/// Runs one case in a fresh copy; returns (exit status, stdout, stderr, lab).
fn run_case(case: &Path) -> (common::Run, Lab) {
    let lab = Lab::new();
    std::fs::remove_dir_all(lab.path().join("workshop")).expect("clean lab");
    copy_tree(case, lab.path());
    let mut args = vec!["verify".to_string(), "workshop".to_string()];
    if let Ok(extra) = std::fs::read_to_string(case.join("args")) {
        args.extend(extra.lines().map(str::to_string));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (lab.runbook(&args), lab)
}

/// What every message of the corpus must show: a location, the quoted line when the location
/// has a line number, a hint; and the closing count.
fn check_shape(name: &str, stderr: &str) -> Result<(), String> {
    let blocks: Vec<&str> = stderr
        .split("\nerror: ")
        .map(|block| block.trim_start_matches("error: "))
        .collect();
    let Some((summary, errors)) = blocks.split_last() else {
        return Err("no output".into());
    };
    let count = errors.len();
    let expected_summary = format!(
        "{count} problem{} in the workshop; nothing was run\n",
        if count == 1 { "" } else { "s" }
    );
    if count == 0 || *summary != expected_summary {
        return Err(format!(
            "{name}: the last line should be `error: {expected_summary}`"
        ));
    }
    for error in errors {
        let location = error
            .lines()
            .find_map(|line| line.strip_prefix("  --> "))
            .ok_or_else(|| format!("{name}: no `-->` location in\n{error}"))?;
        if !error.lines().any(|line| line.starts_with("  = hint: ")) {
            return Err(format!("{name}: no hint in\n{error}"));
        }
        let line_number = location
            .rsplit_once(':')
            .and_then(|(_, number)| number.parse::<usize>().ok());
        if let Some(number) = line_number {
            let quoted = format!("{number} | ");
            if !error.lines().any(|line| line.starts_with(&quoted)) {
                return Err(format!("{name}: line {number} is not quoted in\n{error}"));
            }
        }
    }
    Ok(())
}

#[test]
fn every_bad_input_fails_with_its_exact_error_and_nothing_runs() {
    let bless = std::env::var_os("RUNBOOK_BLESS_BAD_INPUT").is_some();
    let cases = cases();
    assert!(cases.len() >= 67, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (run, lab) = run_case(case);
        let expected_path = case.join("expected_stderr");
        if bless {
            std::fs::write(&expected_path, &run.stderr).expect("write expected_stderr");
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!("{name}: no expected_stderr (RUNBOOK_BLESS_BAD_INPUT=1 writes it)")
        });
        let mut problems = Vec::new();
        if run.code != 2 {
            problems.push(format!("exit status {}, expected 2", run.code));
        }
        if run.stderr != expected {
            problems.push(format!(
                "stderr differs\n--- expected\n{expected}--- actual\n{}",
                run.stderr
            ));
        }
        if !run.stdout.is_empty() {
            problems.push(format!("stdout is not empty:\n{}", run.stdout));
        }
        if let Err(problem) = check_shape(&name, &expected) {
            problems.push(problem);
        }
        if !NO_MARKER.contains(&name.as_str()) && !has_marker(&case.join("workshop")) {
            problems.push("the workshop lacks the `touch ran` marker block".into());
        }
        if lab.path().join("ran").exists() {
            problems.push("a block ran although the input is invalid".into());
        }
        if lab.path().join("report").exists() {
            problems.push("a report was written for a run that never started".into());
        }
        if !problems.is_empty() {
            failures.push(format!("== {name}\n{}", problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The marker proves something only if it would run: the corpus's first block, in a valid
/// workshop, does create the file.
#[test]
fn the_marker_block_runs_when_the_input_is_valid() {
    let case = corpus().join("unknown-attribute");
    let lab = Lab::new();
    copy_tree(&case, lab.path());
    let chapter = lab.path().join("workshop/01-setup.md");
    let text = std::fs::read_to_string(&chapter).expect("chapter");
    assert!(text.contains("tiemout=30s"), "the case still has its typo");
    std::fs::write(&chapter, text.replace("tiemout=30s", "timeout=30s")).expect("fix the typo");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    assert!(lab.path().join("ran").exists(), "the marker block ran");
}
