//! A scratch workshop in a temporary folder and the real `runbook` binary to run on it.

#![allow(dead_code, unreachable_pub)]

pub mod chromium;
pub mod contract;
pub mod docker;
pub mod lxc;
pub mod sshd;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use runbook::report::model::{AttemptResult, RunReport, StepResult};

pub struct Lab {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }
}

pub fn runbook_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_runbook"))
}

/// The mdbook binary: on PATH, or where `cargo install` puts it.
pub fn mdbook() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("mdbook"))
            .find(|candidate| candidate.is_file())
    });
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let installed = cargo_home.map(|home| home.join("bin/mdbook"));
    on_path
        .or(installed.filter(|path| path.is_file()))
        .expect("mdbook is not installed: run scripts/setup-test-machine (cargo install mdbook --version 0.5.4 --locked)")
}

/// PATH with runbook's own binary first, as `command = "runbook mdbook"` needs.
/// `mdbook build ROOT --dest-dir DESTINATION` with runbook first on `PATH` (a book whose
/// preprocessor is `runbook mdbook`); whether it succeeded, and what it printed.
pub fn mdbook_build(root: &Path, destination: &Path) -> (bool, String) {
    let output = Command::new(mdbook())
        .arg("build")
        .arg(root)
        .arg("--dest-dir")
        .arg(destination)
        .env("PATH", path_with_runbook())
        .env("NO_COLOR", "1")
        .output()
        .expect("mdbook runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), log)
}

pub fn path_with_runbook() -> std::ffi::OsString {
    let bin = runbook_binary();
    let mut paths = vec![bin.parent().expect("bin dir").to_path_buf()];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).expect("PATH")
}

impl Lab {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("runbook-test-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("workshop")).expect("workshop dir");
        Lab { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        self
    }

    pub fn chapter(&self, name: &str, text: &str) -> &Self {
        self.write(&format!("workshop/{name}"), text)
    }

    pub fn expected(&self, chapter: &str, id: &str, text: &str) -> &Self {
        self.write(&format!("expected/{chapter}/{id}.out"), text)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative))
            .unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(runbook_binary());
        command
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE");
        command
    }

    pub fn runbook(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run runbook"))
    }

    /// A lab whose inventory lists `hosts` (inventory lines under `all.hosts`), with a `tmp/`
    /// folder for [`Lab::runbook_in_own_tmp`].
    pub fn with_hosts(hosts: &str) -> Self {
        let lab = Lab::new();
        lab.write(
            "workshop/inventory.yml",
            &format!("all:\n  hosts:\n{hosts}"),
        );
        std::fs::create_dir_all(lab.path().join("tmp")).expect("tmp");
        lab
    }

    /// Runs runbook with TMPDIR inside the lab, so that its SSH control sockets are the lab's
    /// own and a test can find (and count) its masters.
    pub fn runbook_in_own_tmp(&self, args: &[&str]) -> Run {
        let output = self
            .command(args)
            .env("TMPDIR", self.path().join("tmp"))
            .output()
            .expect("run runbook");
        Run::from(output)
    }

    /// `report/run.json`, read through runbook's own report model.
    pub fn report(&self) -> RunReport {
        self.report_in("report")
    }

    /// The `run.json` in `folder` (relative to the lab).
    pub fn report_in(&self, folder: &str) -> RunReport {
        let path = format!("{folder}/run.json");
        serde_json::from_str(&self.read(&path))
            .unwrap_or_else(|error| panic!("{path} is not a run report: {error}"))
    }

    /// The report entry of a step, by its qualified id.
    pub fn step(&self, qualified_id: &str) -> StepResult {
        self.report()
            .chapters
            .into_iter()
            .flat_map(|chapter| chapter.steps)
            .find(|step| step.qualified_id == qualified_id)
            .unwrap_or_else(|| panic!("no step {qualified_id} in the report"))
    }

    /// The first attempt of a step on its first host.
    pub fn attempt(&self, qualified_id: &str) -> AttemptResult {
        first_attempt(&self.step(qualified_id))
    }
}

/// The first attempt of `step` on its first host.
pub fn first_attempt(step: &StepResult) -> AttemptResult {
    step.hosts
        .first()
        .and_then(|host| host.attempts.first())
        .cloned()
        .unwrap_or_else(|| panic!("{} has no attempt: {step:?}", step.qualified_id))
}

/// Two chapters: the first uses `host` as its login user; the second waits two seconds on this
/// machine, then asks, on `host` as `runbook-test`, how long ago its shell started. Sessions
/// pre-opened when the second chapter starts are older than a second when asked (a session
/// opened by the block itself is a few milliseconds old).
pub fn prewarm_chapters(lab: &Lab, host: &str) {
    lab.chapter("01-first.md", &format!("```bash on={host}\ntrue\n```\n"));
    lab.chapter(
        "02-second.md",
        &format!(
            "```bash\nsleep 2\n```\n\n\
             ```bash on={host} user=runbook-test id=age\n\
             read -r -a stat < /proc/$$/stat; read -r up _ < /proc/uptime\n\
             awk -v s=\"${{stat[21]}}\" -v u=\"$up\" -v t=\"$(getconf CLK_TCK)\" 'BEGIN {{ a = u - s / t; if (a >= 1) print \"prewarmed\"; else print \"opened when needed, \" a \" s ago\" }}'\n\
             ```\n\n```console\nprewarmed\n```\n"
        ),
    );
}
