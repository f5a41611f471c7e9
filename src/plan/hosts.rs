//! Where a step runs: `on=` (a host, a group or a comma list) resolved against the inventory.
//! One resolver serves the planner (which quotes the line and underlines the faulty name) and
//! the run (an `on={{ leader }}` filled in by a capture).

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::HostSpec;
use crate::chapter::{Block, Chapter};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::inventory::{Inventory, LOCAL_HOST};
use crate::template;

/// Why a host list names no host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostError {
    /// `e1,,e2`: an empty name; `comma` is where the comma next to the gap is in the list.
    EmptyName { list: String, comma: Range<usize> },
    /// A name that is neither a host nor a group, where it is in the list, and the closest
    /// name the inventory has (a likely typo).
    Unknown {
        name: String,
        at: Range<usize>,
        close: Option<String>,
        /// The inventory file (`None`: there is none, only `localhost` exists).
        inventory: Option<PathBuf>,
    },
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::EmptyName { list, .. } => {
                write!(f, "`{list}` has an empty name in its list")
            }
            HostError::Unknown { close, .. } => {
                f.write_str(&self.unknown_message())?;
                match close {
                    Some(close) => write!(f, "; did you mean `{close}`?"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl HostError {
    /// The sentence about an unknown name, without the suggestion.
    fn unknown_message(&self) -> String {
        match self {
            HostError::Unknown {
                name,
                inventory: Some(path),
                ..
            } => format!(
                "`{name}` is neither a host nor a group of {}",
                path.display()
            ),
            HostError::Unknown { name, .. } => format!(
                "`{name}` is not a known host: there is no inventory, so only `localhost` exists"
            ),
            HostError::EmptyName { .. } => self.to_string(),
        }
    }

    /// Where the problem is within the list (to underline it).
    fn range(&self) -> Range<usize> {
        match self {
            HostError::EmptyName { comma, .. } => comma.clone(),
            HostError::Unknown { at, .. } => at.clone(),
        }
    }

    /// The planner's message and hint for `on={spec}`.
    fn message_and_hint(&self, inventory: &Inventory, workshop_dir: &Path) -> (String, String) {
        match self {
            HostError::EmptyName { list, .. } => (
                format!("`on={list}` has an empty name in its list"),
                "separate names with single commas, e.g. `on=e1,e2`".to_string(),
            ),
            HostError::Unknown {
                name,
                close,
                inventory: path,
                ..
            } => {
                let hint = match (close, path) {
                    (Some(close), _) => format!("did you mean `{close}`?"),
                    (None, Some(path)) => format!(
                        "add `{name}` to {} as a host or a group, or fix the name; it has: {}",
                        path.display(),
                        inventory.names().join(", ")
                    ),
                    (None, None) => format!(
                        "create {} (Ansible's YAML shape) listing the lab's hosts",
                        workshop_dir.join(super::INVENTORY_NAMES[0]).display()
                    ),
                };
                (self.unknown_message(), hint)
            }
        }
    }
}

/// Expands a host list (a host, a group, or a comma list of them; `local` is `localhost`)
/// into host names, in order, without repeats.
pub(crate) fn resolve(inventory: &Inventory, list: &str) -> Result<Vec<String>, HostError> {
    let mut hosts: Vec<String> = Vec::new();
    let mut offset = 0;
    for part in list.split(',') {
        let start = offset + (part.len() - part.trim_start().len());
        let name = part.trim();
        offset += part.len() + 1;
        if name.is_empty() {
            // The comma next to the gap.
            let comma = start.saturating_sub(1);
            return Err(HostError::EmptyName {
                list: list.to_string(),
                comma: comma..comma + 1,
            });
        }
        let members: Vec<String> = if let Some(host) = inventory.host(name) {
            vec![host.name.clone()]
        } else if name == "local" {
            vec![LOCAL_HOST.to_string()]
        } else if let Some(members) = inventory.groups.get(name) {
            members.clone()
        } else {
            return Err(HostError::Unknown {
                name: name.to_string(),
                at: start..start + name.len(),
                close: did_you_mean(name, inventory.names()).map(str::to_string),
                inventory: inventory.path.clone(),
            });
        };
        for member in members {
            if !hosts.contains(&member) {
                hosts.push(member);
            }
        }
    }
    Ok(hosts)
}

/// Where a block names its hosts: the line, its text, and where the host list starts in it.
struct HostsSource {
    line: usize,
    text: String,
    start: Option<usize>,
}

impl HostsSource {
    /// `on=`'s value on the fence line, or the host of a `user@host:dir$` prompt.
    fn of(chapter: &Chapter, block: &Block, list: &str) -> Self {
        match (&block.attributes.on, &block.prompt_line) {
            (None, Some(prompt_line)) => {
                let text = chapter.line(*prompt_line).to_string();
                let start = text.find(&format!("@{list}:")).map(|index| index + 1);
                HostsSource {
                    line: *prompt_line,
                    text,
                    start,
                }
            }
            _ => HostsSource {
                line: block.line,
                start: block
                    .fence_text
                    .find(&format!("on={list}"))
                    .map(|index| index + 3)
                    .or_else(|| block.fence_text.find(list)),
                text: block.fence_text.clone(),
            },
        }
    }

    /// A problem with the host list, quoting its line and underlining `range` of the list.
    fn problem(
        &self,
        file: &Path,
        message: String,
        range: Range<usize>,
        hint: String,
    ) -> Diagnostic {
        let mut problem = Diagnostic::new(file, self.line, message)
            .quoting(&self.text)
            .hint(hint);
        let text = &self.text;
        if let Some(start) = self.start
            && range.start < range.end
            && text.is_char_boundary(start + range.start)
            && text.is_char_boundary((start + range.end).min(text.len()))
        {
            problem.span = Some((start + range.start, (start + range.end).min(text.len())));
        }
        problem
    }
}

/// Where `block` runs: this machine by default, the hosts its `on=` (or its prompt) names,
/// or a template that a capture fills in at run time. A problem is returned with the
/// (empty) host list.
pub(super) fn of_block(
    chapter: &Chapter,
    block: &Block,
    inventory: &Inventory,
    workshop_dir: &Path,
    default_on: Option<&String>,
) -> (HostSpec, Option<Diagnostic>) {
    // `runbook.yml`'s default host comes last: a fence's `on=` and a prompt are more
    // specific. It was resolved once, at the file's line (see `plan::review`).
    let Some(list) = block
        .attributes
        .on
        .as_ref()
        .or(block.prompt_host.as_ref())
        .or(default_on)
    else {
        return (HostSpec::Hosts(vec![LOCAL_HOST.to_string()]), None);
    };
    let source = HostsSource::of(chapter, block, list);
    if template::is_template(list) {
        let checked =
            template::variables_in(list).and_then(|names| template::check_names(list, &names));
        let problem = checked.err().map(|error| {
            source.problem(
                &chapter.path,
                format!("bad template in on=: {error}"),
                error.span.clone().unwrap_or(0..list.len()),
                format!("{}, e.g. `on={{{{ leader }}}}`", template::hint_for(&error)),
            )
        });
        return (HostSpec::Template(list.clone()), problem);
    }
    match resolve(inventory, list) {
        Ok(hosts) => (HostSpec::Hosts(hosts), None),
        Err(error) => {
            let (message, hint) = error.message_and_hint(inventory, workshop_dir);
            let problem = source.problem(&chapter.path, message, error.range(), hint);
            (HostSpec::Hosts(Vec::new()), Some(problem))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> Inventory {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("inventory.yml");
        std::fs::write(
            &path,
            "all:\n  children:\n    etcd_servers:\n      hosts:\n        e1: {ansible_host: 10.0.3.101}\n        e2: {ansible_host: 10.0.3.102}\n    patroni_servers:\n      hosts:\n        pg-1: {ansible_host: 10.0.3.201}\n",
        )
        .expect("write");
        let mut inventory = Inventory::load(&path).expect("valid");
        inventory.path = Some(PathBuf::from("workshop/inventory.yml"));
        inventory
    }

    #[test]
    fn resolves_hosts_groups_and_lists() {
        let inventory = course();
        let resolved = |list: &str| resolve(&inventory, list).expect("resolves");
        assert_eq!(resolved("etcd_servers"), vec!["e1", "e2"]);
        assert_eq!(resolved("pg-1,e1,pg-1"), vec!["pg-1", "e1"]);
        assert_eq!(resolved(" e2 , etcd_servers"), vec!["e2", "e1"]);
        assert_eq!(resolved("localhost"), vec!["localhost"]);
        assert_eq!(resolved("local"), vec!["localhost"]);
    }

    #[test]
    fn an_unknown_name_is_located_and_the_closest_name_suggested() {
        let inventory = course();
        let error = resolve(&inventory, "e1, pg-4").expect_err("unknown");
        assert_eq!(
            error,
            HostError::Unknown {
                name: "pg-4".into(),
                at: 4..8,
                close: Some("pg-1".into()),
                inventory: Some(PathBuf::from("workshop/inventory.yml")),
            }
        );
        assert_eq!(
            error.to_string(),
            "`pg-4` is neither a host nor a group of workshop/inventory.yml; did you mean `pg-1`?"
        );
        let (message, hint) = error.message_and_hint(&inventory, Path::new("workshop"));
        assert_eq!(
            message,
            "`pg-4` is neither a host nor a group of workshop/inventory.yml"
        );
        assert_eq!(hint, "did you mean `pg-1`?");
        let far = resolve(&inventory, "backup").expect_err("unknown");
        let (_, hint) = far.message_and_hint(&inventory, Path::new("workshop"));
        assert_eq!(
            hint,
            "add `backup` to workshop/inventory.yml as a host or a group, or fix the name; it has: e1, e2, pg-1, localhost, all, etcd_servers, patroni_servers"
        );
    }

    #[test]
    fn without_an_inventory_only_localhost_exists() {
        let error = resolve(&Inventory::local_only(), "pg-1").expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "`pg-1` is not a known host: there is no inventory, so only `localhost` exists"
        );
        let (_, hint) = error.message_and_hint(&Inventory::local_only(), Path::new("workshop"));
        assert_eq!(
            hint,
            "create workshop/inventory.yml (Ansible's YAML shape) listing the lab's hosts"
        );
    }

    #[test]
    fn an_empty_name_points_at_its_comma() {
        let error = resolve(&course(), "e1,,e2").expect_err("empty");
        assert_eq!(
            error,
            HostError::EmptyName {
                list: "e1,,e2".into(),
                comma: 2..3
            }
        );
        assert_eq!(error.to_string(), "`e1,,e2` has an empty name in its list");
        let leading = resolve(&course(), ",e1").expect_err("empty");
        assert_eq!(leading.range(), 0..1);
    }
}

#[cfg(test)]
mod block_tests {
    use super::*;

    /// A chapter loaded from a folder that is gone by the time its blocks are planned.
    fn chapter_whose_file_is_gone(text: &str) -> Chapter {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("01.md"), text).expect("write");
        let mut workshop = crate::chapter::load(
            dir.path(),
            crate::chapter::Reach::InsideOnly,
            &crate::settings::Settings::default(),
        )
        .expect("a valid chapter");
        drop(dir);
        workshop.chapters.remove(0)
    }

    #[test]
    fn a_prompt_naming_an_unknown_host_is_quoted_from_the_chapter_as_read() {
        let chapter =
            chapter_whose_file_is_gone("# Lab\n\n```bash\npostgres@pg-9:~$ patronictl list\n```\n");
        assert!(!chapter.path.exists());
        let block = &chapter.blocks[0];
        let (hosts, problem) = of_block(
            &chapter,
            block,
            &Inventory::local_only(),
            Path::new("w"),
            None,
        );
        assert_eq!(hosts, HostSpec::Hosts(Vec::new()));
        let problem = problem.expect("an unknown host");
        assert_eq!(problem.line, 4);
        assert_eq!(
            problem.source_line.as_deref(),
            Some("postgres@pg-9:~$ patronictl list")
        );
        assert_eq!(problem.span, Some((9, 13)), "underlines `pg-9`");
    }

    #[test]
    fn a_block_runs_here_on_its_hosts_or_on_a_template() {
        let chapter = chapter_whose_file_is_gone(
            "```bash\ntrue\n```\n\n```bash on=local,localhost\ntrue\n```\n\n```bash on={{ leader }}\ntrue\n```\n\n```bash on=local,,localhost\ntrue\n```\n",
        );
        let inventory = Inventory::local_only();
        let plan = |index: usize| {
            of_block(
                &chapter,
                &chapter.blocks[index],
                &inventory,
                Path::new("w"),
                None,
            )
        };
        let here = HostSpec::Hosts(vec![LOCAL_HOST.to_string()]);
        assert_eq!(plan(0), (here.clone(), None));
        assert_eq!(plan(1), (here, None));
        assert_eq!(plan(2), (HostSpec::Template("{{ leader }}".into()), None));
        let (_, problem) = plan(3);
        let problem = problem.expect("an empty name");
        assert_eq!(
            problem.message,
            "`on=local,,localhost` has an empty name in its list"
        );
        assert_eq!(problem.line, 13);
        assert_eq!(
            problem
                .source_line
                .as_deref()
                .and_then(|line| problem.span.map(|(a, b)| &line[a..b])),
            Some(","),
            "underlines the comma next to the gap"
        );
    }
}
