//! The command line (clap definitions only). Each default is stated once, by the layer that
//! uses it (a block's timeout in `plan`, `--jobs` in `execute`, the sessions' waits and output
//! cap in `session::settings`, the report folder in `report`); `--help` shows it as an option
//! would be written. Nothing below this module imports it: `app` turns the arguments into
//! each layer's own options.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::session::settings::{DEFAULT_GRACE, DEFAULT_OUTPUT_CAP};

/// The defaults as `--help` shows them (clap takes a default as the text it would parse).
static TIMEOUT_DEFAULT: LazyLock<String> =
    LazyLock::new(|| duration_text(crate::plan::DEFAULT_TIMEOUT));
static GRACE_DEFAULT: LazyLock<String> = LazyLock::new(|| duration_text(DEFAULT_GRACE));
static MAX_OUTPUT_DEFAULT: LazyLock<String> = LazyLock::new(|| size_text(DEFAULT_OUTPUT_CAP));

#[derive(Debug, Parser)]
#[command(
    name = "runbook",
    version,
    about = "Run a workshop's Markdown chapters on real hosts and check every command's output"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run every command block in order and compare its output with the expected output.
    Verify(VerifyArgs),
    /// Show the plan (chapters, blocks, hosts, users, expected files) without running anything.
    List(ListArgs),
    /// Follow the workshop block by block in your own lab (trainee mode); resumes where you
    /// stopped.
    Step(StepArgs),
    /// Run only the `check` blocks and tell which chapters the lab has reached.
    Check(CheckArgs),
    /// Bring a lab to the end of a chapter: the chapters whose checks do not pass yet run as
    /// `verify` runs them (a trainee who fell behind, or broke their lab).
    CatchUp(CatchUpArgs),
    /// mdBook preprocessor: the book with real output (`[preprocessor.runbook]` in book.toml).
    Mdbook(MdbookArgs),
}

/// What says which blocks run where.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The folder holding the chapters (and SUMMARY.md).
    #[arg(default_value = "workshop")]
    pub(crate) dir: PathBuf,
    /// Inventory file (default: DIR/inventory.yml if present).
    #[arg(long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,
    /// Folder of expected outputs (default: `expected/` beside DIR).
    #[arg(long, value_name = "DIR")]
    pub(crate) expected: Option<PathBuf>,
    /// Set a template variable (repeatable); wins over the inventory.
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub(crate) vars: Vec<(String, String)>,
    /// Run only this chapter (its file name, its key or its title; repeatable).
    #[arg(long = "chapter", value_name = "NAME")]
    pub(crate) chapters: Vec<String>,
    /// Start at this block (`id` or `chapter/id`, as `runbook list` shows them).
    #[arg(long, value_name = "ID")]
    pub(crate) from: Option<String>,
    /// Default timeout of a block.
    #[arg(long, value_name = "DURATION", default_value = TIMEOUT_DEFAULT.as_str(), value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Only the blocks marked `teardown` (those that remove the lab), which every other run
    /// leaves out.
    #[arg(long)]
    pub(crate) teardown: bool,
    /// Read chapters that SUMMARY.md names outside the workshop folder (`../`, an absolute
    /// path) or that are symlinks out of it; refused by default.
    #[arg(long)]
    pub(crate) allow_outside_workshop: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    /// `text` for a reader, `json` (one object per step) for editors, CI scripts and tools.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub(crate) format: ListFormat,
}

/// How `runbook list` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    /// Folder for index.html, junit.xml and run.json.
    #[arg(long, value_name = "DIR", default_value = crate::report::DEFAULT_FOLDER)]
    pub(crate) report: PathBuf,
    /// Go on after a failed block (by default the run stops: later steps build on earlier
    /// ones; a run of cram test files always goes on, as cram does).
    #[arg(short = 'k', long)]
    pub(crate) keep_going: bool,
    /// Send each block to its shell on its own, instead of consecutive plain blocks for one
    /// shell in one batch.
    #[arg(long)]
    pub(crate) no_batch: bool,
    /// Count blocks without expected output as failures.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Write the real output into the expected files, keeping the patterns that still match.
    #[arg(long)]
    pub(crate) bless: bool,
    /// Also write a recording of each command block (asciicast v2, for asciinema) into
    /// the report folder's casts/.
    #[arg(long)]
    pub(crate) record: bool,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// Output kept per block (the last part), e.g. 1M, 256K.
    #[arg(long, value_name = "SIZE", default_value = MAX_OUTPUT_DEFAULT.as_str(), value_parser = parse_size)]
    pub(crate) max_output: usize,
    /// Hosts a block runs on at once when it names several.
    #[arg(long, value_name = "N", default_value_t = crate::execute::DEFAULT_JOBS)]
    pub(crate) jobs: usize,
    /// Also show the output of every block that ran, not only of those that failed.
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

/// How runbook reaches the lab's hosts (shared by `step` and `check`).
#[derive(Debug, Args)]
pub(crate) struct SessionArgs {
    /// A variable whose value is secret: shown as [secret:NAME] everywhere (repeatable).
    #[arg(long = "secret", value_name = "NAME")]
    pub(crate) secrets: Vec<String>,
    /// Time between TERM and KILL when a block times out.
    #[arg(long, value_name = "DURATION", default_value = GRACE_DEFAULT.as_str(), value_parser = parse_duration)]
    pub(crate) grace: Duration,
    /// How long a host may take to give a shell [default: 20s; 5s for `check --class`, where a
    /// lab that is down must not hold up the class's answer].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) connect_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct StepArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// Forget the saved progress and start at the first block.
    #[arg(long)]
    pub(crate) restart: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// Also write index.html, junit.xml and run.json of the checks into this folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
    /// Let checks with `retry=` wait for their state as `verify` does (by default each check
    /// runs once: the lab is looked at as it is now).
    #[arg(long)]
    pub(crate) wait: bool,
    /// A class: check every trainee's lab named in this roster (YAML), concurrently, and show
    /// one row per trainee (README, "A class of labs").
    #[arg(long, value_name = "ROSTER")]
    pub(crate) class: Option<PathBuf>,
    /// With `--class`: check this trainee's lab alone, with every check's details.
    #[arg(long, value_name = "NAME", requires = "class")]
    pub(crate) trainee: Option<String>,
    /// With `--class`: how the class view is printed.
    #[arg(long, value_enum, default_value = "text", requires = "class")]
    pub(crate) format: ClassFormat,
    /// With `--class`: also write the class view as a self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE", requires = "class")]
    pub(crate) html: Option<PathBuf>,
    /// With `--class`: look again every DURATION (default 30s) until interrupted; the page
    /// reloads itself as often.
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "30s", value_parser = parse_duration, requires = "class")]
    pub(crate) watch: Option<Duration>,
    /// With `--watch`: point out a lab that has not moved for this long while most of the
    /// class is further on.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration, requires = "class")]
    pub(crate) stuck_after: Duration,
    /// With `--class`: the most labs looked at at once.
    #[arg(long, value_name = "N", default_value_t = crate::class::DEFAULT_LABS_AT_ONCE, value_parser = clap::value_parser!(usize), requires = "class")]
    pub(crate) labs: usize,
}

#[derive(Debug, Args)]
pub(crate) struct CatchUpArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// The chapter to bring the lab to the end of: its key, file name, title or number.
    #[arg(long, value_name = "CHAPTER")]
    pub(crate) to: String,
    /// A class roster: the lab is the one of `--trainee`.
    #[arg(long, value_name = "ROSTER", requires = "trainee")]
    pub(crate) class: Option<PathBuf>,
    /// With `--class`: whose lab.
    #[arg(long, value_name = "NAME", requires = "class")]
    pub(crate) trainee: Option<String>,
    /// Folder for index.html, junit.xml and run.json of the chapters run.
    #[arg(long, value_name = "DIR", default_value = crate::report::DEFAULT_FOLDER)]
    pub(crate) report: PathBuf,
    /// The `runbook step` progress to move past the chapter (default: the workshop's own,
    /// for a lab without `--class`; a trainee's lives where they run `runbook step`).
    #[arg(long, value_name = "FILE")]
    pub(crate) progress: Option<PathBuf>,
}

/// How `check --class` prints the class view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ClassFormat {
    /// A table for the terminal.
    Text,
    /// JSON, for tools.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct MdbookArgs {
    #[command(subcommand)]
    pub(crate) action: Option<MdbookAction>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MdbookAction {
    /// Exit 0 when runbook can preprocess the book for RENDERER (mdBook asks this first).
    Supports { renderer: String },
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::chapter::attrs::parse_duration(text)
}

fn parse_size(text: &str) -> Result<usize, String> {
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((index, _)) => text.split_at(index),
        None => (text, ""),
    };
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 1M or 256K"))?;
    let factor = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("`{text}` is not a size such as 1M or 256K")),
    };
    Ok(number.saturating_mul(factor))
}

/// A duration as an option takes it: whole seconds as `60s`, anything finer in `ms`.
fn duration_text(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// A size as `--max-output` takes it: `1M`, `256K`, or bytes.
fn size_text(bytes: usize) -> String {
    [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        .into_iter()
        .find(|&(_, factor)| bytes >= factor && bytes % factor == 0)
        .map_or_else(
            || bytes.to_string(),
            |(unit, factor)| format!("{}{unit}", bytes / factor),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn defaults_read_back_as_the_values_they_show() {
        for text in [&TIMEOUT_DEFAULT, &GRACE_DEFAULT] {
            assert!(parse_duration(text).is_ok(), "{}", text.as_str());
        }
        assert_eq!(
            parse_duration(&TIMEOUT_DEFAULT),
            Ok(crate::plan::DEFAULT_TIMEOUT)
        );
        assert_eq!(parse_duration(&GRACE_DEFAULT), Ok(DEFAULT_GRACE));
        assert_eq!(parse_size(&MAX_OUTPUT_DEFAULT), Ok(DEFAULT_OUTPUT_CAP));
        assert_eq!(duration_text(Duration::from_millis(1500)), "1500ms");
        assert_eq!(size_text(256 << 10), "256K");
        assert_eq!(size_text(1000), "1000");
    }

    #[test]
    fn help_shows_every_default() {
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("verify")
            .expect("verify")
            .render_long_help()
            .to_string();
        for default in [
            "[default: 60s]",
            "[default: 3s]",
            "[default: 20s;",
            "[default: 1M]",
            "[default: 8]",
            "[default: report]",
            "[default: workshop]",
        ] {
            assert!(help.contains(default), "{default} missing from:\n{help}");
        }
    }
}
