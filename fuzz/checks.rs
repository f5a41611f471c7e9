//! What the fuzz targets check, shared with the crate's own tests: `tests/fuzz_regressions.rs`
//! replays every input the fuzzers found through these same functions, so a fixed bug stays
//! fixed under plain `cargo test`.

#![allow(dead_code, unreachable_pub)] // each fuzz target uses one of the checks, through `mod checks`

use std::path::Path;

use runbook::chapter::attrs::{self, InfoLine};
use runbook::chapter::parse::{BlockKind, LineIndex, parse_chapter};
use runbook::diagnostic::Diagnostic;
use runbook::expect::actual::ActualOutput;
use runbook::expect::pattern::{self, Origin};
use runbook::expect::{self, bless, matcher};
use runbook::template::{self, Vars};

/// A diagnostic must render, and point inside the text it is about.
fn check_diagnostic(problem: &Diagnostic, line_count: usize) {
    let rendered = problem.to_string();
    assert!(rendered.starts_with("error: "), "{rendered}");
    assert!(
        problem.line <= line_count + 1,
        "line {} of a {line_count}-line text: {rendered}",
        problem.line
    );
    if let (Some(source), Some((start, end))) = (&problem.source_line, problem.span) {
        assert!(
            start <= end && end <= source.len(),
            "span out of the line: {rendered}"
        );
    }
}

/// The chapter parser (with every block's attributes, prompts and console blocks) and the
/// cram test file reader: never panic, and what they return points at the right lines.
pub fn chapter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.md");
    let line_count = text.lines().count();
    // The first line also goes to the attribute parser alone, as the info string of a fence,
    // so that attributes get fuzzed without the fuzzer having to build a fenced block.
    let info = text.lines().next().unwrap_or_default();
    let fence = format!("```{info}");
    let at = InfoLine {
        file: path,
        line: 1,
        text: &fence,
    };
    if let Err(problems) = attrs::parse(info, &at) {
        assert!(!problems.is_empty(), "an error without a problem");
        for problem in &problems {
            check_diagnostic(problem, 1);
        }
    }
    // The same text read as a cram test file: each block starts at its first command's line.
    let lines = LineIndex::new(text);
    for block in &runbook::chapter::cram::parse(text).blocks {
        assert!(
            !block.transcript.is_empty(),
            "a cram block without a command"
        );
        assert_eq!(block.fence_text, lines.line_text(text, block.line + 1));
        assert!(
            block.fence_text.starts_with("  $ "),
            "{:?}",
            block.fence_text
        );
    }
    match parse_chapter(path, text) {
        Err(problems) => {
            assert!(!problems.is_empty(), "an error without a problem");
            for problem in &problems {
                check_diagnostic(problem, line_count);
            }
        }
        Ok(parsed) => {
            for block in &parsed.blocks {
                assert!(
                    block.line >= 1 && block.line <= line_count,
                    "block line {}",
                    block.line
                );
                assert_eq!(block.fence_text, lines.line_text(text, block.line));
                if block.runs() {
                    assert!(!block.id.is_empty(), "a runnable block without an id");
                }
                if let Some(inline) = &block.inline_expected {
                    let origin = Origin::Inline(path.to_path_buf());
                    if let Err(problems) = pattern::parse(&inline.text, origin, inline.first_line) {
                        for problem in &problems {
                            check_diagnostic(problem, line_count);
                        }
                    }
                }
                if let BlockKind::Command { script } = &block.kind {
                    for line in script.lines() {
                        if let Ok(names) = template::variables_in(line) {
                            let _ = template::check_names(line, &names);
                        }
                    }
                }
            }
        }
    }
}

/// `text` read as an expected output must match `output`.
fn assert_matches(text: &str, output: &ActualOutput, what: &str) {
    let parsed = pattern::parse(text, Origin::File("fuzz.out".into()), 1)
        .unwrap_or_else(|problems| panic!("{what} does not parse: {problems:?}\n--- text\n{text}"));
    let lines = parsed
        .instantiate(&Vars::new())
        .unwrap_or_else(|error| panic!("{what} is read as a template: {error}\n--- text\n{text}"));
    let comparison = matcher::compare(&lines, output);
    assert!(
        comparison.matched,
        "{what} does not match the output it was made from\n--- text\n{text}--- output\n{output:?}"
    );
}

/// The matcher: an expected output (pattern text) against real output (bytes), split at the
/// first NUL byte. Never panics; what `--bless` would write reads back and matches.
pub fn matcher(data: &[u8]) {
    let split = data
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(data.len());
    let Ok(pattern_text) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let output = ActualOutput::from_bytes(data.get(split + 1..).unwrap_or_default());
    let _ = output.display();

    // A block with no expected output yet: --bless writes this, which must match next time.
    assert_matches(
        &bless::fresh_text(&output),
        &output,
        "the fresh blessed text",
    );

    let expected = match pattern::parse(pattern_text, Origin::File("fuzz.out".into()), 1) {
        Ok(expected) => expected,
        Err(problems) => {
            for problem in &problems {
                check_diagnostic(problem, pattern_text.lines().count());
            }
            return;
        }
    };
    // Templates get a stand-in value, as if an earlier block had captured it.
    let vars: Vars = expected
        .variables_used()
        .into_iter()
        .map(|(name, _)| (name, "pg-1".to_string()))
        .collect();
    let Ok(verdict) = expect::check(&expected, &output, &vars) else {
        return;
    };
    assert_eq!(
        verdict.matched,
        verdict.diff.is_none(),
        "a diff exactly when it differs"
    );
    if !verdict.matched {
        let diff = verdict
            .diff
            .as_ref()
            .map(|diff| diff.hunks.len())
            .unwrap_or(0);
        assert!(diff > 0, "a mismatch with an empty diff");
    }
    if !expected.lines.iter().any(|line| line.templated) {
        assert_matches(
            &verdict.blessed(&expected, &output),
            &output,
            "the blessed text",
        );
    }
}
