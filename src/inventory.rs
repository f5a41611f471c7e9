//! The lab's machines, in the shape of an Ansible YAML inventory (`all.hosts.NAME.ansible_host`,
//! `children` groups, `vars`), so a course's own inventory works unchanged. runbook adds
//! `runbook_transport` (local, ssh, lxc, docker), `runbook_container`, `runbook_become` and
//! `runbook_host_key_checking`, per host or per group.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::template::Vars;

/// The name of the machine runbook runs on, always available.
pub(crate) const LOCAL_HOST: &str = "localhost";

/// How runbook reaches a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TransportKind {
    Local,
    Ssh,
    Lxc,
    Docker,
}

/// SSH host key policy; checking is never turned off silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum HostKeyChecking {
    /// Trust a host seen for the first time, refuse a changed key (a lab's usual need).
    #[default]
    AcceptNew,
    /// Only hosts already in known_hosts.
    Strict,
}

/// One machine of the lab.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) name: String,
    pub(crate) transport: TransportKind,
    /// `ansible_host`: where ssh connects.
    pub(crate) address: Option<String>,
    /// `ansible_user`: who ssh connects as.
    pub(crate) user: Option<String>,
    pub(crate) port: Option<u16>,
    /// `ansible_ssh_private_key_file`.
    pub(crate) key_file: Option<PathBuf>,
    /// Container name for lxc and docker (default: the host name).
    pub(crate) container: String,
    /// Command that opens a shell as another user; `{user}` is replaced.
    pub(crate) become_command: String,
    pub(crate) host_key_checking: HostKeyChecking,
    /// The machine SSH goes through to reach this host, if any.
    pub(crate) jump: Option<Jump>,
    /// Variables for blocks on this host: all.vars, then group vars, then host vars.
    pub(crate) vars: Vars,
}

/// Default way to open a shell as `user=NAME` when the connection's user differs, as the
/// Patroni course does (`sudo -iu postgres`).
pub(crate) const DEFAULT_BECOME: &str = "sudo -iu {user} bash";

impl Host {
    fn local() -> Self {
        Host {
            name: LOCAL_HOST.to_string(),
            transport: TransportKind::Local,
            address: None,
            user: None,
            port: None,
            key_file: None,
            container: LOCAL_HOST.to_string(),
            become_command: DEFAULT_BECOME.to_string(),
            host_key_checking: HostKeyChecking::default(),
            jump: None,
            vars: Vars::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub(crate) path: Option<PathBuf>,
    /// Hosts in the order the inventory first names them.
    pub(crate) hosts: Vec<Host>,
    /// Group name -> member hosts (nested groups flattened), in order.
    pub(crate) groups: BTreeMap<String, Vec<String>>,
    /// `all.vars`: variables for every block.
    pub(crate) vars: Vars,
    /// Names of variables whose values are secret (`runbook_secrets` in `all.vars`).
    pub(crate) secrets: Vec<String>,
}

const RUNBOOK_KEYS: &[&str] = &[
    "runbook_transport",
    "runbook_known_hosts_file",
    "runbook_secrets",
    "runbook_container",
    "runbook_become",
    "runbook_host_key_checking",
    "runbook_jump",
];

/// A machine SSH goes through to reach a host (OpenSSH's ProxyJump): a trainee's own machine
/// in a class, in front of the lab's containers. From `runbook_jump` or from
/// `ansible_ssh_common_args: -o ProxyJump=...` (Ansible's way of saying it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Jump {
    pub(crate) user: Option<String>,
    pub(crate) address: String,
    pub(crate) port: Option<u16>,
}

impl Jump {
    /// Reads `[user@]host[:port]` (an IPv6 address in brackets: `[fd00::1]:2201`).
    pub(crate) fn parse(text: &str) -> Result<Jump, String> {
        let text = text.trim();
        let text = text.strip_prefix("ssh://").unwrap_or(text);
        if text.contains(',') {
            return Err(
                "runbook goes through one machine, not a chain: name one `user@host:port`".into(),
            );
        }
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user.to_string()), rest),
            Some(_) => return Err("the user before `@` is empty".into()),
            None => (None, text),
        };
        let (address, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let Some((address, after)) = bracketed.split_once(']') else {
                return Err("an IPv6 address in brackets lacks its `]`".into());
            };
            (address, after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((address, port)) => (address, Some(port)),
                None => (rest, None),
            }
        };
        if address.is_empty() || address.contains(char::is_whitespace) {
            return Err(
                "no machine named: write `user@host:port`, e.g. `dalibo@192.0.2.10:2201`".into(),
            );
        }
        let port = match port {
            None => None,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => Some(port),
                _ => return Err(format!("`{port}` is not a port (1 to 65535)")),
            },
        };
        Ok(Jump {
            user,
            address: address.to_string(),
            port,
        })
    }

    /// The jump named in Ansible's `ansible_ssh_common_args` (`-o ProxyJump=X`, `-J X`).
    /// Its other options are not passed to ssh: runbook sets its own (BatchMode, host key
    /// checking that is never off...), and authors' inventories carry options such as
    /// `-o StrictHostKeyChecking=no` that must not stop their course from being read.
    pub(crate) fn from_ssh_args(args: &str) -> Result<Option<Jump>, String> {
        let Some(words) = crate::chapter::psql::shell_words(args) else {
            return Err("its quotes do not close".into());
        };
        let mut jump = None;
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let value = if word == "-J" {
                words.next()
            } else if word == "-o" {
                match words.next() {
                    Some(option) => option_value(&option),
                    None => None,
                }
            } else if let Some(option) = word.strip_prefix("-o") {
                option_value(option)
            } else {
                None
            };
            if let Some(value) = value {
                jump = Some(Jump::parse(&value)?);
            }
        }
        Ok(jump)
    }
}

/// `ProxyJump=X` (any case, `=` or a blank) as ssh's `-o` reads it: X.
fn option_value(option: &str) -> Option<String> {
    let (key, value) = option
        .split_once('=')
        .or_else(|| option.split_once(char::is_whitespace))?;
    key.trim()
        .eq_ignore_ascii_case("ProxyJump")
        .then(|| value.trim().to_string())
}

impl Inventory {
    /// The inventory with only the local machine (no inventory file).
    pub(crate) fn local_only() -> Self {
        Inventory {
            path: None,
            hosts: vec![Host::local()],
            groups: BTreeMap::new(),
            vars: Vars::new(),
            secrets: Vec::new(),
        }
    }

    /// Variables declared secret.
    pub(crate) fn secret_names(&self) -> Vec<String> {
        self.secrets.clone()
    }

    pub(crate) fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|host| host.name == name)
    }

    /// Every name `on=` accepts: hosts and groups.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .map(|host| host.name.as_str())
            .chain(self.groups.keys().map(String::as_str))
            .collect()
    }

    /// Loads an inventory file.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        Self::load_with(path, &BTreeMap::new())
    }

    /// Loads an inventory file, with `overrides` set on every host after everything the file
    /// says (a class roster's variables for one trainee's lab: they win, as Ansible's extra
    /// variables do) and visible to every block.
    pub(crate) fn load_with(
        path: &Path,
        overrides: &BTreeMap<String, Value>,
    ) -> Result<Self, Diagnostics> {
        let mut problems = Diagnostics::default();
        let text = crate::chapter::read_utf8(path)?;
        let root: Value = match yaml_serde::from_str(&text) {
            Ok(value) => value,
            Err(error) => {
                let line = error.location().map_or(0, |location| location.line());
                let quoted = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
                // YAML forbids tabs in indentation, and its own message does not say so.
                let message = error.to_string();
                let hint = if message.contains("duplicate entry") {
                    "a name appears once per mapping: merge the two entries or rename one"
                } else if line > 0
                    && quoted.starts_with(|c: char| c.is_whitespace())
                    && quoted.trim_start_matches(' ').starts_with('\t')
                {
                    "YAML indents with spaces only: replace the tab at the start of this line by spaces"
                } else {
                    "an inventory looks like `all: {hosts: {pg-1: {ansible_host: 10.0.3.201}}}`, one key per line"
                };
                let mut problem = Diagnostic::new(
                    path,
                    line,
                    format!("the inventory is not valid YAML: {}", first_line(&message)),
                )
                .hint(hint);
                if line > 0 {
                    problem = problem.quoting(quoted);
                }
                problems.push(problem);
                return Err(problems);
            }
        };
        if text.trim().is_empty() {
            problems.push(
                Diagnostic::new(path, 0, "the inventory is empty")
                    .hint("list the lab's hosts, e.g. `all: {hosts: {pg-1: {ansible_host: 10.0.3.201}}}`, or remove the file to run on this machine only"),
            );
            return Err(problems);
        }
        let Value::Mapping(top) = root else {
            problems.push(
                Diagnostic::new(
                    path,
                    1,
                    "the inventory must be a mapping of groups, starting with `all:`",
                )
                .quoting(text.lines().next().unwrap_or_default())
                .hint("start the file with `all:` and list hosts under `all.hosts`"),
            );
            return Err(problems);
        };
        let mut builder = Builder {
            path,
            text: &text,
            key_lines: index_keys(&text),
            problems: Diagnostics::default(),
            order: Vec::new(),
            declared: std::collections::HashSet::new(),
            host_fields: BTreeMap::new(),
            definitions: BTreeMap::new(),
            group_order: Vec::new(),
            secrets: Vec::new(),
            overrides,
        };
        let mut all_vars = Vars::new();
        for (key, value) in &top {
            let Some(group) = builder.name_of(key, "group") else {
                continue;
            };
            builder.walk_group(&group, value, None, &mut all_vars);
        }
        for (key, value) in overrides {
            if let Some(value) = scalar(value) {
                all_vars.insert(key.clone(), value);
            }
        }
        let (mut inventory, found) = builder.finish(all_vars);
        problems.extend(found);
        if !problems.is_empty() {
            return Err(problems);
        }
        if !inventory.hosts.iter().any(|host| host.name == LOCAL_HOST) {
            let mut local = Host::local();
            local.vars.extend(
                overrides
                    .iter()
                    .filter_map(|(key, value)| Some((key.clone(), scalar(value)?))),
            );
            inventory.hosts.push(local);
        }
        inventory.path = Some(path.to_path_buf());
        Ok(inventory)
    }
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}

/// Does this YAML line set `key` (bare or quoted) in a mapping?
fn sets_key(line: &str, key: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed
        .strip_prefix(key)
        .or_else(|| trimmed.strip_prefix(&format!("\"{key}\"")))
        .or_else(|| trimmed.strip_prefix(&format!("'{key}'")))
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

/// The first line on which each mapping key is set, so that finding a host's line is one
/// look-up rather than a scan of the file (a scan per host made an inventory of 20,000 hosts
/// take minutes).
fn index_keys(text: &str) -> std::collections::HashMap<String, usize> {
    let mut lines = std::collections::HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let key = if let Some(rest) = trimmed.strip_prefix('"') {
            rest.split_once('"').map(|(key, _)| key)
        } else if let Some(rest) = trimmed.strip_prefix('\'') {
            rest.split_once('\'').map(|(key, _)| key)
        } else {
            trimmed.split_once(':').map(|(key, _)| key.trim_end())
        };
        if let Some(key) = key
            && sets_key(line, key)
        {
            lines.entry(key.to_string()).or_insert(index + 1);
        }
    }
    lines
}

/// One group as the inventory defines it, merged over every place that names it (Ansible
/// merges a group named twice, e.g. as a child before its own entry).
#[derive(Default)]
struct GroupDefinition {
    /// Its `vars`, in the order they are written.
    vars: Vec<Mapping>,
    hosts: Vec<String>,
    children: Vec<String>,
}

/// Collects hosts and groups while walking the YAML tree; membership and variables are
/// resolved once the whole file is read ([`Builder::finish`]), so a group's child may be
/// defined after the group.
struct Builder<'a> {
    path: &'a Path,
    text: &'a str,
    key_lines: std::collections::HashMap<String, usize>,
    problems: Diagnostics,
    order: Vec<String>,
    declared: std::collections::HashSet<String>,
    /// Host -> (line, its own fields, each place that lists it, in order).
    host_fields: BTreeMap<String, (usize, Vec<Mapping>)>,
    definitions: BTreeMap<String, GroupDefinition>,
    /// Group names in the order the inventory first names them.
    group_order: Vec<String>,
    secrets: Vec<String>,
    /// Set on every host after the file's own settings (see [`Inventory::load_with`]).
    overrides: &'a BTreeMap<String, Value>,
}

impl Builder<'_> {
    /// The line where `key:` first appears (YAML values do not keep positions).
    fn line_of(&self, key: &str) -> usize {
        if let Some(line) = self.key_lines.get(key) {
            return *line;
        }
        self.text
            .lines()
            .position(|line| sets_key(line, key))
            .map_or(0, |index| index + 1)
    }

    /// The name a host or group key gives, or a problem: YAML reads `true:`, `null:`, `~:`
    /// and `42:` as a boolean, nothing and a number, which Ansible would turn into names such
    /// as `True` or `None`; runbook asks for the intended name to be quoted instead.
    fn name_of(&mut self, key: &Value, what: &str) -> Option<String> {
        if let Value::String(name) = key {
            if name.trim().is_empty() {
                self.problems.push(
                    Diagnostic::new(self.path, 0, format!("a {what} has an empty name"))
                        .hint(format!("give the {what} a name, e.g. `pg-1:`")),
                );
                return None;
            }
            return Some(name.clone());
        }
        let (written, reading): (Vec<&str>, &str) = match key {
            Value::Null => (vec!["null", "~", "Null", "NULL"], "nothing (null)"),
            Value::Bool(true) => (vec!["true", "True", "TRUE"], "the boolean true"),
            Value::Bool(false) => (vec!["false", "False", "FALSE"], "the boolean false"),
            Value::Number(_) => (vec![], "a number"),
            _ => (vec![], "a value that is not text"),
        };
        let shown = match key {
            Value::Number(number) => number.to_string(),
            _ => written.first().copied().unwrap_or("?").to_string(),
        };
        let candidates: Vec<String> = if written.is_empty() {
            vec![shown.clone()]
        } else {
            written.iter().map(|word| (*word).to_string()).collect()
        };
        let found = candidates.iter().find_map(|word| {
            let line = self.line_of(word);
            (line > 0).then(|| (line, word.clone()))
        });
        let quoted_name = found
            .as_ref()
            .map_or(shown.as_str(), |(_, word)| word.as_str());
        let mut problem = Diagnostic::new(
            self.path,
            found.as_ref().map_or(0, |(line, _)| *line),
            format!("YAML reads this {what} name as {reading}, not as a name"),
        )
        .hint(format!(
            "quote the name if it is meant (`'{quoted_name}':`), or give the {what} a real name"
        ));
        if let Some((line, word)) = found {
            problem = problem
                .quoting(self.text.lines().nth(line - 1).unwrap_or_default())
                .underlining(&word);
        }
        self.problems.push(problem);
        None
    }

    /// The line that sets `key` for the host declared at `host_line`: under the host itself,
    /// else (a group's `vars`) the first line setting it to `value`; the host's line when
    /// neither is found.
    fn key_line(&self, host_line: usize, key: &str, value: Option<&str>) -> usize {
        let lines: Vec<&str> = self.text.lines().collect();
        let indent = |line: &str| line.len() - line.trim_start().len();
        if host_line > 0 {
            let host_indent = indent(lines[host_line - 1]);
            let under_host = lines
                .iter()
                .enumerate()
                .skip(host_line)
                .take_while(|(_, line)| line.trim().is_empty() || indent(line) > host_indent)
                .find(|(_, line)| sets_key(line, key));
            if let Some((index, _)) = under_host {
                return index + 1;
            }
        }
        lines
            .iter()
            .position(|line| sets_key(line, key) && value.is_none_or(|value| line.contains(value)))
            .map_or(host_line, |index| index + 1)
    }

    fn problem(&mut self, key: &str, message: String, hint: &str) {
        let line = self.line_of(key);
        let mut problem = Diagnostic::new(self.path, line, message).hint(hint);
        if line > 0 {
            problem = problem.quoting(self.text.lines().nth(line - 1).unwrap_or_default());
        }
        self.problems.push(problem);
    }

    fn definition(&mut self, name: &str) -> &mut GroupDefinition {
        if !self.definitions.contains_key(name) {
            self.group_order.push(name.to_string());
        }
        self.definitions.entry(name.to_string()).or_default()
    }

    fn walk_group(&mut self, name: &str, value: &Value, parent: Option<&str>, all_vars: &mut Vars) {
        self.definition(name);
        if let Some(parent) = parent {
            let children = &mut self.definition(parent).children;
            if !children.iter().any(|child| child == name) {
                children.push(name.to_string());
            }
        }
        let group = match value {
            // A child named without content: defined elsewhere (before or after).
            Value::Null => return,
            Value::Mapping(group) => group,
            _ => {
                self.problem(
                    name,
                    format!("group `{name}` must be a mapping (hosts:, children:, vars:)"),
                    "write `hosts:`, `children:` or `vars:` under the group",
                );
                return;
            }
        };
        if let Some(vars) = group.get("vars") {
            match vars {
                Value::Mapping(vars) => {
                    if name == "all" && parent.is_none() {
                        for (key, value) in vars {
                            if let (Some(key), Some(value)) = (key.as_str(), scalar(value)) {
                                all_vars.insert(key.to_string(), value);
                            }
                        }
                        match vars.get("runbook_secrets") {
                            Some(Value::Sequence(names)) => {
                                self.secrets.extend(names.iter().filter_map(scalar));
                            }
                            Some(Value::String(names)) => {
                                self.secrets.extend(
                                    names
                                        .split(',')
                                        .map(|n| n.trim().to_string())
                                        .filter(|n| !n.is_empty()),
                                );
                            }
                            _ => {}
                        }
                    }
                    self.definition(name).vars.push(vars.clone());
                }
                Value::Null => {}
                _ => self.problem(
                    "vars",
                    format!("`vars` of group `{name}` must be a mapping"),
                    "write `key: value` lines under `vars:`",
                ),
            }
        }
        for (key, _) in group {
            let key = key.as_str().unwrap_or_default();
            if !matches!(key, "hosts" | "children" | "vars") {
                let hint = match did_you_mean(key, ["hosts", "children", "vars"]) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "a group holds `hosts:`, `children:` and `vars:`".to_string(),
                };
                self.problem(key, format!("unknown key `{key}` in group `{name}`"), &hint);
            }
        }
        match group.get("hosts") {
            Some(Value::Mapping(hosts)) => {
                for (host, fields) in hosts {
                    let Some(host) = self.name_of(host, "host") else {
                        continue;
                    };
                    let fields = match fields {
                        Value::Mapping(fields) => fields.clone(),
                        Value::Null => Mapping::new(),
                        _ => {
                            self.problem(
                                &host,
                                format!("host `{host}` must be a mapping of its settings"),
                                "write e.g. `ansible_host: 10.0.3.201` under the host",
                            );
                            continue;
                        }
                    };
                    if self.declared.insert(host.clone()) {
                        self.order.push(host.clone());
                    }
                    let line = self.line_of(&host);
                    self.host_fields
                        .entry(host.clone())
                        .or_insert_with(|| (line, Vec::new()))
                        .1
                        .push(fields);
                    let members = &mut self.definition(name).hosts;
                    members.push(host);
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => self.problem(
                "hosts",
                format!("`hosts` of group `{name}` must be a mapping of host names"),
                "list hosts as `name:` lines under `hosts:`",
            ),
        }
        match group.get("children") {
            Some(Value::Mapping(children)) => {
                for (child, value) in children {
                    let Some(child) = self.name_of(child, "group") else {
                        continue;
                    };
                    self.walk_group(&child, value, Some(name), all_vars);
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => self.problem(
                "children",
                format!("`children` of group `{name}` must be a mapping of groups"),
                "list groups as `name:` lines under `children:`",
            ),
        }
    }

    /// Each group's depth as Ansible counts it (a top-level group 0 or 1 below `all`, a
    /// child one more than its deepest parent), or the group in a cycle.
    fn depths(&self) -> Result<BTreeMap<String, usize>, String> {
        let mut depths: BTreeMap<String, usize> = BTreeMap::new();
        // Longest path from a root, by relaxing along the children in topological order.
        let mut parents: BTreeMap<&str, usize> = BTreeMap::new();
        for definition in self.definitions.values() {
            for child in &definition.children {
                *parents.entry(child.as_str()).or_default() += 1;
            }
        }
        let mut ready: Vec<&str> = self
            .group_order
            .iter()
            .map(String::as_str)
            .filter(|name| !parents.contains_key(name))
            .collect();
        for root in &ready {
            depths.insert((*root).to_string(), usize::from(*root != "all"));
        }
        let mut done = 0;
        while let Some(name) = ready.pop() {
            done += 1;
            let depth = depths.get(name).copied().unwrap_or_default();
            for child in &self.definitions[name].children {
                let deepest = depths.entry(child.clone()).or_default();
                *deepest = (*deepest).max(depth + 1);
                if let Some(left) = parents.get_mut(child.as_str()) {
                    *left -= 1;
                    if *left == 0 {
                        ready.push(child);
                    }
                }
            }
        }
        if done < self.definitions.len() {
            let looped = self
                .group_order
                .iter()
                .find(|name| parents.get(name.as_str()).is_some_and(|left| *left > 0))
                .cloned()
                .unwrap_or_default();
            return Err(looped);
        }
        Ok(depths)
    }

    /// Every host of `name`: its own hosts, then its children's, in order, each once.
    fn members(&self, name: &str, memo: &mut BTreeMap<String, Vec<String>>) -> Vec<String> {
        if let Some(known) = memo.get(name) {
            return known.clone();
        }
        let mut members = Vec::new();
        let mut seen = std::collections::HashSet::new();
        if let Some(definition) = self.definitions.get(name) {
            for host in &definition.hosts {
                if seen.insert(host.clone()) {
                    members.push(host.clone());
                }
            }
            for child in &definition.children {
                for host in self.members(child, memo) {
                    if seen.insert(host.clone()) {
                        members.push(host);
                    }
                }
            }
        }
        memo.insert(name.to_string(), members.clone());
        members
    }

    fn finish(mut self, all_vars: Vars) -> (Inventory, Diagnostics) {
        let depths = match self.depths() {
            Ok(depths) => depths,
            Err(looped) => {
                self.problem(
                    &looped,
                    format!("group `{looped}` is among its own children"),
                    "a group's children cannot include the group itself, directly or through another group",
                );
                let problems = std::mem::take(&mut self.problems);
                return (Inventory::local_only(), problems);
            }
        };
        let mut memo = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // Host -> the groups it belongs to, directly or through a child group.
        let mut belongs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for name in &self.group_order {
            let members = self.members(name, &mut memo);
            for host in &members {
                belongs.entry(host.clone()).or_default().push(name.clone());
            }
            groups.insert(name.clone(), members);
        }
        let definitions = std::mem::take(&mut self.definitions);
        let mut hosts = Vec::new();
        for name in self.order.clone() {
            let (line, own) = self.host_fields.remove(&name).unwrap_or_default();
            // Ansible's precedence: `all`, then shallower groups before deeper ones, groups
            // of one depth in name order (the later name wins), then the host's own fields
            // (where it is listed twice, the later listing wins).
            let mut in_groups = belongs.remove(&name).unwrap_or_default();
            in_groups.sort_by_key(|group| {
                (
                    depths.get(group).copied().unwrap_or_default(),
                    group.clone(),
                )
            });
            let mut merged: BTreeMap<String, Value> = BTreeMap::new();
            let layers = in_groups
                .iter()
                .flat_map(|group| definitions[group].vars.iter())
                .chain(own.iter());
            for layer in layers {
                for (key, value) in layer {
                    if let Some(key) = key.as_str() {
                        merged.insert(key.to_string(), value.clone());
                    }
                }
            }
            for (key, value) in self.overrides {
                merged.insert(key.clone(), value.clone());
            }
            if let Some(host) = self.build_host(&name, line, &merged) {
                hosts.push(host);
            }
        }
        groups.retain(|_, members| !members.is_empty());
        let secrets = std::mem::take(&mut self.secrets);
        (
            Inventory {
                path: None,
                hosts,
                groups,
                vars: all_vars,
                secrets,
            },
            self.problems,
        )
    }

    fn build_host(
        &mut self,
        name: &str,
        line: usize,
        fields: &BTreeMap<String, Value>,
    ) -> Option<Host> {
        // A problem with a key points at the line that sets it, underlining the value (or the
        // key); one without a key (a missing address) points at the host.
        // A group's setting wrong for several hosts is one problem naming them all.
        let mut report = |key: Option<&str>, value: Option<&str>, what: String, hint: String| {
            let at = key.map_or(line, |key| self.key_line(line, key, value));
            let same = self.problems.0.iter_mut().find(|problem| {
                key.is_some()
                    && problem.line == at
                    && problem.message.starts_with(&format!("{what} for host"))
            });
            if let Some(same) = same {
                same.message = format!(
                    "{}, `{name}`",
                    same.message.replacen(" for host `", " for hosts `", 1)
                );
                return;
            }
            let message = match key {
                Some(_) => format!("{what} for host `{name}`"),
                None => what,
            };
            let mut problem = Diagnostic::new(self.path, at, message).hint(hint);
            if at > 0 {
                problem = problem.quoting(self.text.lines().nth(at - 1).unwrap_or_default());
                if let Some(marked) = value.or(key) {
                    problem = problem.underlining(marked);
                }
            }
            self.problems.push(problem);
        };
        for key in fields.keys().filter(|key| key.starts_with("runbook_")) {
            if !RUNBOOK_KEYS.contains(&key.as_str()) {
                let hint = did_you_mean(key, RUNBOOK_KEYS.iter().copied()).map_or_else(
                    || format!("runbook's keys are {}", RUNBOOK_KEYS.join(", ")),
                    |close| format!("did you mean `{close}`?"),
                );
                report(Some(key), None, format!("unknown setting `{key}`"), hint);
            }
        }
        let text = |key: &str| fields.get(key).and_then(scalar);
        let transport = match text("runbook_transport").as_deref() {
            None if name == LOCAL_HOST => TransportKind::Local,
            None | Some("ssh") => TransportKind::Ssh,
            Some("local") => TransportKind::Local,
            Some("lxc") => TransportKind::Lxc,
            Some("docker") => TransportKind::Docker,
            Some(other) => {
                report(
                    Some("runbook_transport"),
                    Some(other),
                    format!("unknown transport `{other}`"),
                    "runbook_transport is one of local, ssh, lxc, docker".into(),
                );
                return None;
            }
        };
        let address = text("ansible_host");
        if transport == TransportKind::Ssh && address.is_none() {
            report(
                None,
                None,
                format!("host `{name}` has no address"),
                "add `ansible_host: ADDRESS` under the host (or `runbook_transport: lxc` for a container reached with lxc-attach)".into(),
            );
            return None;
        }
        let port = match fields.get("ansible_port") {
            None => None,
            Some(value) => match scalar(value).and_then(|port| port.parse::<u16>().ok()) {
                Some(port) => Some(port),
                None => {
                    let written = scalar(value);
                    report(
                        Some("ansible_port"),
                        written.as_deref(),
                        "bad ansible_port".into(),
                        "a port is a number from 1 to 65535".into(),
                    );
                    return None;
                }
            },
        };
        let host_key_checking = match text("runbook_host_key_checking").as_deref() {
            None => HostKeyChecking::default(),
            Some("accept-new") => HostKeyChecking::AcceptNew,
            Some("strict") => HostKeyChecking::Strict,
            Some(other) => {
                report(
                    Some("runbook_host_key_checking"),
                    Some(other),
                    format!("unknown host key checking `{other}`"),
                    "runbook_host_key_checking is `accept-new` (default) or `strict`; runbook never turns checking off".into(),
                );
                return None;
            }
        };
        let jump = match (text("runbook_jump"), text("ansible_ssh_common_args")) {
            (Some(jump), _) => match Jump::parse(&jump) {
                Ok(jump) => Some(jump),
                Err(why) => {
                    report(
                        Some("runbook_jump"),
                        Some(&jump),
                        format!("bad runbook_jump: {why}"),
                        "runbook_jump is the machine to go through, `user@host:port`, e.g. `dalibo@192.0.2.10:2201`".into(),
                    );
                    return None;
                }
            },
            (None, Some(args)) => match Jump::from_ssh_args(&args) {
                Ok(jump) => jump,
                Err(why) => {
                    report(
                        Some("ansible_ssh_common_args"),
                        Some(&args),
                        format!("ansible_ssh_common_args: {why}"),
                        "write `ansible_ssh_common_args: '-o ProxyJump=user@host:port'`, or `runbook_jump: user@host:port`".into(),
                    );
                    return None;
                }
            },
            (None, None) => None,
        };
        if jump.is_some() && transport != TransportKind::Ssh {
            report(
                Some(if fields.contains_key("runbook_jump") {
                    "runbook_jump"
                } else {
                    "ansible_ssh_common_args"
                }),
                None,
                "a jump host is only for hosts reached over SSH".into(),
                "remove the jump from this host, or reach it with `runbook_transport: ssh`".into(),
            );
            return None;
        }
        let mut vars = Vars::new();
        for (key, value) in fields {
            if let Some(value) = scalar(value) {
                vars.insert(key.clone(), value);
            }
        }
        vars.insert("inventory_hostname".into(), name.to_string());
        Some(Host {
            name: name.to_string(),
            transport,
            user: text("ansible_user"),
            port,
            key_file: text("ansible_ssh_private_key_file").map(PathBuf::from),
            container: text("runbook_container").unwrap_or_else(|| name.to_string()),
            become_command: text("runbook_become").unwrap_or_else(|| DEFAULT_BECOME.to_string()),
            host_key_checking,
            jump,
            address,
            vars,
        })
    }
}

/// A YAML scalar as template text.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Inventory, Diagnostics> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("inventory.yml");
        std::fs::write(&path, text).expect("write");
        Inventory::load(&path)
    }

    const COURSE: &str = "all:
  vars:
    postgresql_version: 15
  children:
    etcd_servers:
      hosts:
        e1: {ansible_host: 10.0.3.101}
        e2: {ansible_host: 10.0.3.102}
    patroni_servers:
      vars:
        runbook_transport: lxc
      hosts:
        pg-1: {ansible_host: 10.0.3.201}
        pg-2:
";

    #[test]
    fn reads_hosts_groups_and_vars() {
        let inventory = load(COURSE).expect("valid");
        let names: Vec<&str> = inventory.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, vec!["e1", "e2", "pg-1", "pg-2", "localhost"]);
        assert_eq!(
            inventory.vars.get("postgresql_version").map(String::as_str),
            Some("15")
        );
        assert_eq!(
            inventory.host("pg-2").map(|h| h.transport),
            Some(TransportKind::Lxc)
        );
        assert_eq!(
            inventory
                .host("e1")
                .and_then(|h| h.address.clone())
                .as_deref(),
            Some("10.0.3.101")
        );
        assert_eq!(inventory.groups["all"], vec!["e1", "e2", "pg-1", "pg-2"]);
    }

    #[test]
    fn host_without_address_is_an_error_at_its_line() {
        let problems =
            load("all:\n  hosts:\n    e1:\n      ansible_user: root\n").expect_err("no address");
        assert_eq!(problems.0[0].line, 3);
        assert_eq!(problems.0[0].message, "host `e1` has no address");
    }

    #[test]
    fn bad_yaml_points_at_the_line() {
        let problems =
            load("all:\n  hosts:\n    e1: {ansible_host: 10.0.3.101\n").expect_err("bad yaml");
        assert!(
            problems.0[0]
                .message
                .starts_with("the inventory is not valid YAML")
        );
        assert!(problems.0[0].line > 0);
    }

    #[test]
    fn unknown_runbook_setting_suggests() {
        let problems =
            load("all:\n  hosts:\n    e1:\n      ansible_host: x\n      runbook_transprt: lxc\n")
                .expect_err("typo");
        assert_eq!(
            problems.0[0].hint.as_deref(),
            Some("did you mean `runbook_transport`?")
        );
    }
}

#[cfg(test)]
mod jump_tests {
    use super::*;

    fn load(text: &str) -> Result<Inventory, Diagnostics> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("inventory.yml");
        std::fs::write(&path, text).expect("write");
        Inventory::load(&path)
    }

    #[test]
    fn a_jump_is_read_from_runbook_jump_or_from_ansible_s_proxyjump() {
        let inventory = load(
            "all:\n  vars:\n    ansible_ssh_common_args: '-o ProxyJump=dalibo@192.0.2.10:2201'\n  hosts:\n    pg-1: {ansible_host: 10.0.3.201}\n    pg-2: {ansible_host: 10.0.3.202, runbook_jump: 'admin@[fd00::1]'}\n",
        )
        .expect("valid");
        let jump = |name: &str| inventory.host(name).and_then(|host| host.jump.clone());
        assert_eq!(
            jump("pg-1"),
            Some(Jump {
                user: Some("dalibo".into()),
                address: "192.0.2.10".into(),
                port: Some(2201)
            })
        );
        assert_eq!(
            jump("pg-2").map(|jump| jump.address),
            Some("fd00::1".into())
        );
        assert_eq!(jump("localhost"), None);
    }

    #[test]
    fn other_ssh_options_are_passed_over_and_a_jump_to_a_container_is_refused_at_its_line() {
        // As the Patroni course's authors write it: read, the option not passed to ssh.
        let inventory = load(
            "all:\n  hosts:\n    pg-1:\n      ansible_host: 10.0.3.201\n      ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o ProxyJump=j'\n",
        )
        .expect("read");
        assert_eq!(
            inventory
                .host("pg-1")
                .and_then(|host| host.jump.clone())
                .map(|jump| jump.address),
            Some("j".into())
        );
        let problems = load(
            "all:\n  hosts:\n    pg-1:\n      ansible_host: 10.0.3.201\n      ansible_ssh_common_args: \"-o 'ProxyJump=j\"\n",
        )
        .expect_err("unclosed quote");
        assert_eq!(problems.0[0].line, 5);
        let problems = load(
            "all:\n  hosts:\n    c1:\n      runbook_transport: lxc\n      runbook_jump: admin@host\n",
        )
        .expect_err("refused");
        assert!(
            problems.0[0]
                .message
                .contains("only for hosts reached over SSH")
        );
        assert_eq!(problems.0[0].line, 5);
    }
}
