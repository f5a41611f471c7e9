//! Fuzzes the chapter parser: Markdown with fenced blocks, attributes, prompts and console
//! blocks. See fuzz/checks.rs for what is checked.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::chapter(data));
