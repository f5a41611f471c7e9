//! runbook: a literate workshop runner. Markdown chapters -> a validated plan -> commands run
//! in persistent shells on their hosts -> output matched against expected output -> reports.
//!
//! [`app`] wires these stages together for the binary (`src/main.rs`); they are a library so
//! that fuzz targets, the benchmark and the integration tests can reach the parser, the
//! matcher, the sessions and the report model.

// Children start through `sys::command`, never `Command::new` (clippy.toml says why); the
// integration tests and the benchmarks, whose children are the test's, are left free.
#![warn(clippy::disallowed_methods)]

pub mod app;
pub(crate) mod catch_up;
pub mod chapter;
pub(crate) mod check;
pub(crate) mod class;
pub(crate) mod cli;
pub(crate) mod deadline;
pub mod diagnostic;
pub(crate) mod execute;
pub mod expect;
pub(crate) mod expected_files;
pub mod inventory;
pub(crate) mod join;
pub(crate) mod lab;
pub(crate) mod list;
pub(crate) mod mdbook;
pub(crate) mod plan;
pub(crate) mod printable;
pub mod report;
pub(crate) mod secret;
pub mod session;
pub(crate) mod settings;
pub(crate) mod step;
pub(crate) mod sys;
pub mod template;
pub(crate) mod user_file;

/// Exit statuses, as documented in docs/src/running.md.
pub(crate) mod exit {
    pub(crate) const PASSED: u8 = 0;
    pub(crate) const FAILED: u8 = 1;
    pub(crate) const BAD_INPUT: u8 = 2;

    /// The status of a run that ended: stopped by `signal` (128 + its number, as a shell
    /// reports it: 129 SIGHUP, 130 SIGINT, 131 SIGQUIT, 143 SIGTERM), or else passed or not.
    pub(crate) fn status(signal: Option<i32>, passed: bool) -> u8 {
        match signal {
            Some(signal) => u8::try_from(128 + signal).unwrap_or(u8::MAX),
            None if passed => PASSED,
            None => FAILED,
        }
    }
}
