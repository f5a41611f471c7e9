//! runbook: a literate workshop runner. Markdown chapters -> a validated plan -> commands run
//! in persistent shells on their hosts -> output matched against expected output -> reports.
//!
//! [`app`] wires these stages together for the binary (`src/main.rs`); they are a library so
//! that fuzz targets, the benchmark and the integration tests can reach the parser, the
//! matcher, the sessions and the report model.

pub mod app;
pub mod chapter;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod execute;
pub mod expect;
pub mod inventory;
pub mod join;
pub mod lab;
pub mod list;
pub mod mdbook;
pub mod plan;
pub mod printable;
pub mod report;
pub mod secret;
pub mod session;
pub mod step;
pub mod sys;
pub mod template;

/// Exit statuses, as documented in the README.
pub mod exit {
    pub const PASSED: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const INTERRUPTED: u8 = 130;
    pub const TERMINATED: u8 = 143;

    /// The status of a run that ended: interrupted by `signal`, or else passed or not.
    pub fn status(signal: Option<i32>, passed: bool) -> u8 {
        match signal {
            Some(libc::SIGTERM) => TERMINATED,
            Some(_) => INTERRUPTED,
            None if passed => PASSED,
            None => FAILED,
        }
    }
}
