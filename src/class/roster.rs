//! The class roster: one YAML file naming each trainee and how to reach their lab, read and
//! checked whole (every problem at its `file:line`) before any lab is contacted.
//!
//! ```yaml
//! inventory: inventory.yml        # optional, beside the roster; default: the course's
//! vars:                           # optional, on every host of every lab
//!   runbook_known_hosts_file: class-known-hosts
//! trainees:
//!   alice:
//!     jump: dalibo@192.0.2.10:2201  # the trainee's machine, in front of the lab
//!   bob:
//!     vars: {ansible_port: 2202}    # on every host of this lab, after the inventory's own
//!   carol:
//!     inventory: carol.yml          # a lab described by an inventory of its own
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::inventory::Jump;

const TOP_KEYS: [&str; 3] = ["inventory", "vars", "trainees"];
const TRAINEE_KEYS: [&str; 3] = ["jump", "vars", "inventory"];

/// One trainee's lab: where its description is and how to reach it.
#[derive(Debug, Clone)]
pub(crate) struct Trainee {
    pub(crate) name: String,
    /// The roster's line that names the trainee.
    pub(crate) line: usize,
    /// The inventory that describes the lab (`None`: the course's own).
    pub(crate) inventory: Option<PathBuf>,
    /// The trainee's machine, through which every SSH host of the lab is reached; the
    /// course's `localhost` (the lab machine) is that machine.
    pub(crate) jump: Option<Jump>,
    /// Set on every host of the lab: the roster's `vars`, then the trainee's own.
    pub(crate) vars: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct Roster {
    pub(crate) path: PathBuf,
    pub(crate) trainees: Vec<Trainee>,
}

/// Reads and checks the roster at `path`.
pub(crate) fn load(path: &Path) -> Result<Roster, Diagnostics> {
    let text = crate::chapter::read_utf8(path)?;
    let mut problems = Diagnostics::default();
    let line_of = |needle: &str, after: usize| -> usize {
        text.lines()
            .enumerate()
            .skip(after.saturating_sub(1))
            .find(|(_, line)| {
                let trimmed = line.trim_start();
                trimmed
                    .strip_prefix(needle)
                    .or_else(|| trimmed.strip_prefix(&format!("\"{needle}\"")))
                    .or_else(|| trimmed.strip_prefix(&format!("'{needle}'")))
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map_or(0, |(index, _)| index + 1)
    };
    let quote = |line: usize| text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let problem = |line: usize, message: String, hint: &str| {
        let found = Diagnostic::new(path, line, message).hint(hint);
        if line > 0 {
            found.quoting(quote(line))
        } else {
            found
        }
    };
    let example = "a roster looks like `trainees: {alice: {jump: dalibo@192.0.2.10:2201}}`";
    let root: Value = match yaml_serde::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            let line = error.location().map_or(0, |location| location.line());
            let message = error.to_string();
            let first = message.lines().next().unwrap_or_default();
            let hint = if message.contains("duplicate entry") {
                "each trainee is named once: rename or merge the two entries"
            } else {
                example
            };
            problems.push(problem(
                line,
                format!("the class roster is not valid YAML: {first}"),
                hint,
            ));
            return Err(problems);
        }
    };
    let Value::Mapping(top) = root else {
        problems.push(problem(
            1,
            "the class roster must be a mapping with `trainees:`".into(),
            example,
        ));
        return Err(problems);
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    for key in top.keys() {
        let name = key.as_str().unwrap_or_default();
        if !TOP_KEYS.contains(&name) {
            let line = line_of(name, 0);
            let hint = did_you_mean(name, TOP_KEYS.iter().copied()).map_or_else(
                || format!("a roster's keys are {}", TOP_KEYS.join(", ")),
                |close| format!("did you mean `{close}`?"),
            );
            problems.push(problem(line, format!("unknown roster key `{name}`"), &hint));
        }
    }
    let inventory_of = |value: &Value, line: usize, problems: &mut Diagnostics| match value {
        Value::String(file) => {
            let file = folder.join(file);
            if file.is_file() {
                Some(file)
            } else {
                problems.push(problem(
                    line,
                    format!("the inventory {} does not exist", file.display()),
                    "the path is relative to the roster's folder",
                ));
                None
            }
        }
        _ => {
            problems.push(problem(
                line,
                "`inventory:` is the path of an inventory file".into(),
                "write e.g. `inventory: labs/alice.yml`",
            ));
            None
        }
    };
    let vars_of = |value: &Value, line: usize, problems: &mut Diagnostics| match value {
        Value::Mapping(vars) => {
            let mut found = BTreeMap::new();
            for (key, value) in vars {
                match (key.as_str(), value) {
                    (Some(key), Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                        found.insert(key.to_string(), value.clone());
                    }
                    (Some(key), _) => problems.push(problem(
                        line_of(key, line),
                        format!("the variable `{key}` is not a single value"),
                        "a roster variable is text, a number or true/false",
                    )),
                    (None, _) => problems.push(problem(
                        line,
                        "a variable's name is not text".into(),
                        "write `name: value` under `vars:`",
                    )),
                }
            }
            found
        }
        _ => {
            problems.push(problem(
                line,
                "`vars:` is a mapping of variables".into(),
                "write e.g. `vars: {ansible_user: root}`",
            ));
            BTreeMap::new()
        }
    };
    let class_inventory = top
        .get("inventory")
        .and_then(|value| inventory_of(value, line_of("inventory", 0), &mut problems));
    let class_vars = top
        .get("vars")
        .map(|value| vars_of(value, line_of("vars", 0), &mut problems))
        .unwrap_or_default();
    let trainees_line = line_of("trainees", 0);
    let listed = match top.get("trainees") {
        Some(Value::Mapping(listed)) if !listed.is_empty() => listed.clone(),
        Some(_) => {
            problems.push(problem(
                trainees_line,
                "`trainees:` names each trainee, with how to reach their lab".into(),
                example,
            ));
            Mapping::new()
        }
        None => {
            problems.push(problem(
                0,
                "the class roster names no trainee".into(),
                example,
            ));
            Mapping::new()
        }
    };
    let mut trainees = Vec::new();
    for (key, value) in &listed {
        let Some(name) = key.as_str().map(str::to_string) else {
            problems.push(problem(
                trainees_line,
                "a trainee's name is not text".into(),
                "quote the name, e.g. `'42':`",
            ));
            continue;
        };
        let line = line_of(&name, trainees_line);
        let mut trainee = Trainee {
            name: name.clone(),
            line,
            inventory: class_inventory.clone(),
            jump: None,
            vars: class_vars.clone(),
        };
        let fields = match value {
            Value::Null => Mapping::new(),
            Value::Mapping(fields) => fields.clone(),
            _ => {
                problems.push(problem(
                    line,
                    format!("trainee `{name}` must be a mapping (jump:, vars:, inventory:)"),
                    "write e.g. `alice: {jump: dalibo@192.0.2.10:2201}`",
                ));
                continue;
            }
        };
        for (field, value) in &fields {
            let field = field.as_str().unwrap_or_default();
            let at = line_of(field, line).max(line);
            match field {
                "jump" => match value.as_str().map(Jump::parse) {
                    Some(Ok(jump)) => trainee.jump = Some(jump),
                    Some(Err(why)) => problems.push(problem(
                        at,
                        format!("bad jump for `{name}`: {why}"),
                        "the trainee's machine as ssh reaches it: `user@host:port`",
                    )),
                    None => problems.push(problem(
                        at,
                        format!("bad jump for `{name}`: not text"),
                        "the trainee's machine as ssh reaches it: `user@host:port`",
                    )),
                },
                "vars" => trainee.vars.extend(vars_of(value, at, &mut problems)),
                "inventory" => trainee.inventory = inventory_of(value, at, &mut problems),
                other => {
                    let hint = did_you_mean(other, TRAINEE_KEYS.iter().copied()).map_or_else(
                        || format!("a trainee's keys are {}", TRAINEE_KEYS.join(", ")),
                        |close| format!("did you mean `{close}`?"),
                    );
                    problems.push(problem(
                        at,
                        format!("unknown key `{other}` for trainee `{name}`"),
                        &hint,
                    ));
                }
            }
        }
        trainees.push(trainee);
    }
    if problems.is_empty() {
        Ok(Roster {
            path: path.to_path_buf(),
            trainees,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> (tempfile::TempDir, Result<Roster, Diagnostics>) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("bob.yml"),
            "all: {hosts: {n: {ansible_host: x}}}\n",
        )
        .expect("write");
        let path = dir.path().join("class.yml");
        std::fs::write(&path, text).expect("write");
        let roster = load(&path);
        (dir, roster)
    }

    #[test]
    fn trainees_keep_their_order_jump_vars_and_inventory() {
        let (_dir, roster) = load_text(
            "vars:\n  ansible_user: root\ntrainees:\n  zoe:\n    jump: dalibo@192.0.2.10:2201\n  bob:\n    inventory: bob.yml\n    vars: {ansible_user: admin, ansible_port: 2202}\n  al:\n",
        );
        let roster = roster.expect("valid roster");
        let names: Vec<&str> = roster.trainees.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["zoe", "bob", "al"]);
        let zoe = &roster.trainees[0];
        assert_eq!(zoe.line, 4);
        assert_eq!(
            zoe.jump,
            Some(Jump {
                user: Some("dalibo".into()),
                address: "192.0.2.10".into(),
                port: Some(2201)
            })
        );
        assert_eq!(zoe.vars["ansible_user"], Value::String("root".into()));
        let bob = &roster.trainees[1];
        assert!(
            bob.inventory
                .as_ref()
                .is_some_and(|path| path.ends_with("bob.yml"))
        );
        assert_eq!(bob.vars["ansible_user"], Value::String("admin".into()));
        assert!(roster.trainees[2].jump.is_none());
    }

    #[test]
    fn each_mistake_is_reported_at_its_line_with_a_fix() {
        let (_dir, roster) = load_text(
            "trainess: {}\ntrainees:\n  alice:\n    jmp: x\n  bob:\n    jump: dalibo@host:99999\n  carol:\n    inventory: missing.yml\n",
        );
        let problems = roster.expect_err("four mistakes").0;
        let found: Vec<(usize, &str, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str(), p.hint.as_deref()))
            .collect();
        assert_eq!(found.len(), 4, "{found:#?}");
        assert_eq!(found[0].0, 1);
        assert_eq!(found[0].2, Some("did you mean `trainees`?"));
        assert_eq!((found[1].0, found[1].2), (4, Some("did you mean `jump`?")));
        assert_eq!(found[2].0, 6);
        assert!(
            found[2].1.contains("`99999` is not a port"),
            "{}",
            found[2].1
        );
        assert_eq!(found[3].0, 8);
        assert!(found[3].1.contains("missing.yml does not exist"));
    }

    #[test]
    fn a_roster_without_trainees_or_not_yaml_is_refused() {
        let (_dir, roster) = load_text("vars: {a: 1}\n");
        assert!(
            roster.expect_err("no trainees").0[0]
                .message
                .contains("names no trainee")
        );
        let (_dir, roster) = load_text("trainees:\n  alice: {jump: x\n");
        assert!(
            roster.expect_err("bad yaml").0[0]
                .message
                .contains("not valid YAML")
        );
    }

    #[test]
    fn jumps_are_read_as_ssh_and_ansible_write_them() {
        let jump = |text: &str| Jump::parse(text);
        assert_eq!(
            jump("[fd00::1]:2201").expect("v6"),
            Jump {
                user: None,
                address: "fd00::1".into(),
                port: Some(2201)
            }
        );
        assert_eq!(jump("host").expect("bare").port, None);
        assert!(jump("a@b,c@d").is_err());
        assert!(jump("@host").is_err());
        let from = |text: &str| Jump::from_ssh_args(text);
        assert_eq!(
            from("-o ProxyJump=dalibo@h:2201")
                .expect("-o")
                .expect("a jump")
                .port,
            Some(2201)
        );
        assert_eq!(from("-J 'u@h'").expect("-J").expect("a jump").address, "h");
        assert_eq!(
            from("-oproxyjump=h").expect("-oX").expect("a jump").address,
            "h"
        );
        assert_eq!(
            from("-o StrictHostKeyChecking=no").expect("passed over"),
            None
        );
        assert_eq!(from("").expect("empty"), None);
    }
}
