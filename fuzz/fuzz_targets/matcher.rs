//! Fuzzes the expected-output matcher: pattern text, a NUL byte, then the real output. See
//! fuzz/checks.rs for what is checked.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::matcher(data));
