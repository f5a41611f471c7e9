//! What `runbook step` runs when a trainee did a `file=` block themselves: a read-only step
//! that prints the file back (`cat`, or for an append the block's content when the file
//! holds it), expected to be the block's content, literally.

use super::{Action, Expectations, Step};
use crate::chapter::attrs::ExpectedExit;
use crate::expect::pattern::{Expected, Origin};
use crate::session::protocol::read_file_script;

impl Step {
    /// The read-back of a `file=` block (`None` for any other block).
    pub(crate) fn read_back(&self) -> Option<Step> {
        let Action::WriteFile {
            path, content, how, ..
        } = &self.action
        else {
            return None;
        };
        let mut probe = self.clone();
        probe.action = Action::Run {
            script: read_file_script(path, content, *how),
        };
        probe.expectations = Expectations {
            // Labelled as the chapter itself: the expected text is the block's content.
            shared: Some(Expected::literal(
                Origin::File(self.file.clone()),
                self.line + 1,
                content,
                self.templated,
            )),
            per_host: Default::default(),
        };
        probe.exit = ExpectedExit::Success;
        probe.retry = None;
        probe.check = true;
        Some(probe)
    }
}

#[cfg(test)]
mod tests {
    use crate::expect::pattern::Matcher;
    use crate::plan::{Action, PlanOptions, build};

    const CHAPTER: &str = "# Files\n\n```ini file=/etc/x.ini id=conf\nsite = {{ site }}\nport = 5432  \n```\n\n```bash id=cmd\ntrue\n```\n";

    #[test]
    fn a_file_block_is_read_back_and_compared_literally() {
        let dir = tempfile::tempdir().expect("tempdir");
        let workshop = dir.path().join("workshop");
        std::fs::create_dir_all(&workshop).expect("mkdir");
        std::fs::write(workshop.join("01-files.md"), CHAPTER).expect("write");
        std::fs::write(
            workshop.join("inventory.yml"),
            "all:\n  vars:\n    site: lab\n  hosts:\n    pg-1: {ansible_host: 10.0.3.11}\n",
        )
        .expect("write");
        let options = PlanOptions {
            expected_dir: Some(dir.path().join("expected")),
            ..PlanOptions::for_workshop(&workshop)
        };
        let plan = build(&options).expect("a valid workshop");
        let [conf, cmd] = &plan.steps[..] else {
            panic!("two steps");
        };
        assert!(cmd.read_back().is_none(), "a command has no file to read");
        let probe = conf.read_back().expect("a file block");
        assert!(
            matches!(&probe.action, Action::Run { script } if script.starts_with("cat -- ")),
            "{:?}",
            probe.action
        );
        assert!(probe.check && probe.retry.is_none());
        let expected = probe.expectations.shared.expect("the block's content");
        let lines: Vec<(usize, &str, bool)> = expected
            .lines
            .iter()
            .map(|line| (line.line, line.body.as_str(), line.templated))
            .collect();
        assert_eq!(
            lines,
            [(4, "site = {{ site }}", true), (5, "port = 5432", false)]
        );
        assert!(expected.lines[0].matcher.is_none(), "matched once rendered");
        assert!(matches!(
            &expected.lines[1].matcher,
            Some(Matcher::Literal(bytes)) if bytes == b"port = 5432"
        ));
    }
}
