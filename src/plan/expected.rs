//! Expected files: where they live by default, and one chapter's folder listed and parsed
//! once for all its blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Expectations;
use crate::chapter::{Block, Chapter};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::expect::pattern::{self, Expected, Origin, Reading};
use crate::inventory::Inventory;

/// The default folder of expected files: `expected/` beside the workshop folder.
pub(crate) fn default_expected_dir(workshop_dir: &Path) -> PathBuf {
    let absolute = if workshop_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        workshop_dir
    };
    match absolute
        .canonicalize()
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
    {
        Some(parent) => {
            // Keep the path the way the user wrote it when we can, for readable messages.
            let relative = workshop_dir.components().count() <= 1 && workshop_dir.is_relative();
            if relative {
                PathBuf::from("expected")
            } else {
                parent.join("expected")
            }
        }
        None => PathBuf::from("expected"),
    }
}

/// The expected files of one chapter, listed and parsed once (in parallel when there are many:
/// reading and compiling them is most of the planning of a large workshop).
pub(super) struct ExpectedListing {
    pub(super) folder: PathBuf,
    /// File name -> its parsed content; taken out when a block uses it.
    files: std::cell::RefCell<BTreeMap<String, Result<Expected, Diagnostics>>>,
}

/// Below this many files, threads cost more than they save.
const PARALLEL_LOAD_FROM: usize = 64;

impl ExpectedListing {
    pub(super) fn read(folder: &Path) -> Self {
        let names: Vec<String> = std::fs::read_dir(folder)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".out"))
                    .collect()
            })
            .unwrap_or_default();
        let load = |name: &String| {
            (
                name.clone(),
                load_expected(&folder.join(name), Reading::default()),
            )
        };
        let files: BTreeMap<String, Result<Expected, Diagnostics>> =
            if names.len() < PARALLEL_LOAD_FROM {
                names.iter().map(load).collect()
            } else {
                let workers = std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .min(8);
                let chunk = names.len().div_ceil(workers);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = names
                        .chunks(chunk)
                        .map(|part| scope.spawn(move || part.iter().map(load).collect::<Vec<_>>()))
                        .collect();
                    handles
                        .into_iter()
                        .flat_map(|handle| handle.join().unwrap_or_default())
                        .collect()
                })
            };
        ExpectedListing {
            folder: folder.to_path_buf(),
            files: std::cell::RefCell::new(files),
        }
    }

    /// `<id>.out`, parsed, if present.
    pub(super) fn shared(&self, id: &str) -> Option<Result<Expected, Diagnostics>> {
        self.files.borrow_mut().remove(&format!("{id}.out"))
    }

    /// `<id>.<host>.out` files: (what stands between the id and `.out`, parsed content).
    pub(super) fn per_host(&self, id: &str) -> Vec<(String, Result<Expected, Diagnostics>)> {
        let prefix = format!("{id}.");
        let mut files = self.files.borrow_mut();
        let names: Vec<String> = files
            .range(prefix.clone()..)
            .map(|(name, _)| name)
            .take_while(|name| name.starts_with(&prefix))
            .filter(|name| name.len() > prefix.len() + 4)
            .cloned()
            .collect();
        names
            .into_iter()
            .filter_map(|name| {
                let host = name[prefix.len()..name.len() - 4].to_string();
                files.remove(&name).map(|loaded| (host, loaded))
            })
            .collect()
    }
}

/// The expected outputs of a shell block: `<id>.out` (or else the console block after it)
/// for all its hosts, and `<id>.<host>.out` for one host.
pub(super) fn of_block(
    chapter: &Chapter,
    block: &Block,
    inventory: &Inventory,
    listing: &ExpectedListing,
) -> Result<Expectations, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut expectations = Expectations::default();
    // A verbatim block's expected output is no template either: read it again so.
    let reading = Reading {
        templates: !block.attributes.verbatim,
    };
    let reread = |loaded: Result<Expected, Diagnostics>, name: String| {
        if reading.templates {
            loaded
        } else {
            load_expected(&listing.folder.join(name), reading)
        }
    };
    if let Some(loaded) = listing.shared(&block.id) {
        match reread(loaded, format!("{}.out", block.id)) {
            Ok(expected) => expectations.shared = Some(expected),
            Err(found) => problems.extend(found),
        }
    } else if let Some(inline) = &block.inline_expected {
        match pattern::parse_with(
            &inline.text,
            Origin::Inline(chapter.path.clone()),
            inline.first_line,
            reading,
        ) {
            Ok(expected) => expectations.shared = Some(expected),
            Err(found) => found.into_iter().for_each(|problem| problems.push(problem)),
        }
    }
    for (host, loaded) in listing.per_host(&block.id) {
        if inventory.host(&host).is_none() {
            // `<id>.<something>.out` where something is not a host: maybe another block's id
            // with a dot in it; leave it alone.
            continue;
        }
        match reread(loaded, format!("{}.{host}.out", block.id)) {
            Ok(expected) => {
                expectations.per_host.insert(host, expected);
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(expectations)
    } else {
        Err(problems)
    }
}

/// Reads an expected file as bytes: lines that are not UTF-8 are matched on their bytes.
fn load_expected(path: &Path, reading: Reading) -> Result<Expected, Diagnostics> {
    let bytes = crate::user_file::read(path)
        .map_err(|refused| Diagnostic::new(path, 0, refused.message).hint(refused.hint))?;
    pattern::parse_bytes(&bytes, Origin::File(path.to_path_buf()), reading)
        .map_err(Diagnostics::from)
}
