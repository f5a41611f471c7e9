//! Every input the fuzzers found a bug with (`tests/fuzz_regressions/<target>/`), replayed
//! through the same checks the fuzz targets run (`fuzz/checks.rs`), so `cargo test` keeps
//! them fixed without cargo-fuzz or a nightly toolchain.

#![allow(clippy::print_stderr)] // Names each replayed input, which the test output shows when one fails.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("entry").path())
        .collect();
    inputs.sort();
    for input in &inputs {
        let data = std::fs::read(input).expect("read input");
        eprintln!("replaying {}", input.display());
        check(&data);
    }
    inputs.len()
}

#[test]
fn chapter_parser_inputs_found_by_fuzzing() {
    assert!(replay("chapter", checks::chapter) > 0);
}

#[test]
fn matcher_inputs_found_by_fuzzing() {
    assert!(replay("matcher", checks::matcher) > 0);
}
