//! runbook: a literate workshop runner. Markdown chapters -> a validated plan -> commands run
//! in persistent shells on their hosts -> output matched against expected output -> reports.
//!
//! The binary (`src/main.rs`) wires these stages together; they are a library so that fuzz
//! targets and benchmarks can reach the parser and the matcher.

pub mod chapter;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod execute;
pub mod expect;
pub mod inventory;
pub mod lab;
pub mod list;
pub mod mdbook;
pub mod plan;
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
}
