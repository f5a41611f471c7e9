//! The `runbook` binary: everything it does is in the library ([`runbook::app`]).

fn main() -> std::process::ExitCode {
    runbook::app::main()
}
