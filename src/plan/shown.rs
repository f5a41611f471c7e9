//! A step as it will run now, for the people who watch it: the hosts it runs on given the
//! values captured so far (the one place `on={{ capture }}` is resolved, by the executor and
//! by `runbook step`), and its text with `{{ }}` filled in and secrets masked: the script or
//! the file it writes, and the questions a dialogue answers.

use super::{Action, HostSpec, Plan, Step};
use crate::expect::dialogue;
use crate::secret::Redactor;
use crate::template::{self, Vars};

/// A step's text as a trainee is shown it before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    /// The hosts it runs on, as far as known now (none: decided by a value not captured yet).
    pub(crate) hosts: Vec<String>,
    /// Where it runs, for people: the hosts, or why they are not known.
    pub(crate) place: String,
    /// A `file=` block's path.
    pub(crate) path: Option<String>,
    /// The script, or the file's content.
    pub(crate) body: String,
    /// A dialogue's questions (their fixed text) and the answers its transcript gives them.
    pub(crate) questions: Vec<(String, String)>,
}

impl Plan {
    /// The hosts `step` runs on, given the values captured so far; or why they cannot be told
    /// (a message for the report, secrets masked).
    pub(crate) fn hosts_of(
        &self,
        step: &Step,
        captures: &Vars,
        redactor: &Redactor,
    ) -> Result<Vec<String>, String> {
        match &step.hosts {
            HostSpec::Hosts(hosts) => Ok(hosts.clone()),
            HostSpec::Template(spec) => {
                let vars = self.vars_for(None, captures);
                let rendered = template::render(spec, &vars).map_err(|error| {
                    format!("cannot tell where to run `on={spec}`: {error} (was the block that captures it skipped?)")
                })?;
                super::hosts::resolve(&self.inventory, rendered.trim()).map_err(|error| {
                    redactor.apply(&format!("on={spec} gave `{rendered}`: {error}"))
                })
            }
        }
    }

    /// `step` as it would run now on its first host: its text rendered with the values known
    /// so far (left as written where one is missing) and secrets masked.
    pub(crate) fn shown(&self, step: &Step, captures: &Vars, redactor: &Redactor) -> Shown {
        let hosts = self.hosts_of(step, captures, redactor).unwrap_or_default();
        let place = if hosts.is_empty() {
            match &step.hosts {
                HostSpec::Template(spec) => format!("{spec} (not known yet)"),
                HostSpec::Hosts(_) => "no host".to_string(),
            }
        } else {
            hosts.join(", ")
        };
        let vars = self.vars_for(hosts.first().map(String::as_str), captures);
        // Expected output always has its `{{ }}` filled in; a block's own text unless verbatim.
        let fill = |text: &str| -> String {
            let text = template::render(text, &vars).unwrap_or_else(|_| text.to_string());
            redactor.apply(&text)
        };
        let render = |text: &str| -> String {
            if step.templated {
                fill(text)
            } else {
                redactor.apply(text)
            }
        };
        let (path, body) = match &step.action {
            Action::Run { script } => (None, render(script)),
            Action::WriteFile { path, content, .. } => (Some(render(path)), render(content)),
        };
        let expected = match hosts.first() {
            Some(host) => step.expectations.for_host(host),
            None => step.expectations.shared.as_ref(),
        };
        let questions = match expected {
            Some(expected) if step.pty => dialogue::questions(expected)
                .into_iter()
                .map(|(question, answer)| (fill(&question), fill(&answer)))
                .collect(),
            _ => Vec::new(),
        };
        Shown {
            hosts,
            place,
            path,
            body,
            questions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanOptions, build};

    const INVENTORY: &str = "all:\n  vars:\n    token: s3cr3t\n  children:\n    pg:\n      hosts:\n        pg-1: {ansible_host: 10.0.3.11}\n        pg-2: {ansible_host: 10.0.3.12}\n";

    const CHAPTER: &str = "# Switchover\n\n```bash id=find on=pg-1\necho {{ token }}\n```\n\n```console\nLeader: (?P<leader>pg-\\d) (re)\n```\n\n```bash pty id=switch on={{ leader }}\npatronictl switchover\n```\n\n```console\nCandidate \\[pg-\\d\\]: <<{{ leader }}>> (re)\nSure? [y/N]: <<>>\n```\n";

    fn plan() -> (tempfile::TempDir, Plan) {
        let dir = tempfile::tempdir().expect("tempdir");
        let workshop = dir.path().join("workshop");
        std::fs::create_dir_all(&workshop).expect("mkdir");
        std::fs::write(workshop.join("01-switchover.md"), CHAPTER).expect("write");
        std::fs::write(workshop.join("inventory.yml"), INVENTORY).expect("write");
        let options = PlanOptions {
            expected_dir: Some(dir.path().join("expected")),
            ..PlanOptions::for_workshop(&workshop)
        };
        let plan = build(&options).expect("a valid workshop");
        (dir, plan)
    }

    fn redactor(plan: &Plan) -> Redactor {
        Redactor::new(&["token".to_string()], &plan.inventory.vars)
    }

    #[test]
    fn a_host_named_by_a_capture_is_known_once_captured() {
        let (_dir, plan) = plan();
        let switch = &plan.steps[1];
        let secrets = redactor(&plan);
        let error = plan
            .hosts_of(switch, &Vars::new(), &secrets)
            .expect_err("not captured yet");
        assert!(
            error.starts_with("cannot tell where to run `on={{ leader }}`"),
            "{error}"
        );
        let before = plan.shown(switch, &Vars::new(), &secrets);
        assert_eq!(before.place, "{{ leader }} (not known yet)");
        assert!(before.hosts.is_empty());

        let captured = Vars::from([("leader".to_string(), "pg-2".to_string())]);
        assert_eq!(
            plan.hosts_of(switch, &captured, &secrets),
            Ok(vec!["pg-2".to_string()])
        );
        let elsewhere = Vars::from([("leader".to_string(), "pg-9".to_string())]);
        assert!(
            plan.hosts_of(switch, &elsewhere, &secrets)
                .is_err_and(|e| e.starts_with("on={{ leader }} gave `pg-9`")),
        );
        assert_eq!(
            plan.shown(switch, &captured, &secrets),
            Shown {
                hosts: vec!["pg-2".into()],
                place: "pg-2".into(),
                path: None,
                body: "patronictl switchover\n".into(),
                questions: vec![
                    ("Candidate [pg-…]:".into(), "pg-2".into()),
                    ("Sure? [y/N]:".into(), String::new()),
                ],
            }
        );
    }

    #[test]
    fn the_text_shown_is_rendered_and_masked() {
        let (_dir, plan) = plan();
        let find = &plan.steps[0];
        let shown = plan.shown(find, &Vars::new(), &redactor(&plan));
        assert_eq!(shown.body, "echo [secret:token]\n");
        assert_eq!(shown.place, "pg-1");
        assert!(shown.questions.is_empty(), "not a dialogue");
    }
}
