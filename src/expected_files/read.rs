//! Reading expected files for the plan: one chapter's folder listed and parsed once for all
//! its blocks, and each block's files (or its console block) picked out of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{EXTENSION, Expectations, file_name};
use crate::chapter::{Block, Chapter};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::expect::pattern::{self, Expected, Origin, Reading};
use crate::inventory::Inventory;

/// The expected files of one chapter, listed and parsed once (in parallel when there are many:
/// reading and compiling them is most of the planning of a large workshop).
pub(crate) struct Listing {
    folder: PathBuf,
    /// File name -> its parsed content; taken out when a block uses it.
    files: std::cell::RefCell<BTreeMap<String, Result<Expected, Diagnostics>>>,
}

/// Below this many files, threads cost more than they save.
const PARALLEL_LOAD_FROM: usize = 64;

impl Listing {
    pub(crate) fn read(folder: &Path) -> Self {
        let names: Vec<String> = std::fs::read_dir(folder)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(EXTENSION))
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
        Listing {
            folder: folder.to_path_buf(),
            files: std::cell::RefCell::new(files),
        }
    }

    /// The chapter's folder of expected files.
    pub(crate) fn folder(&self) -> &Path {
        &self.folder
    }

    /// `<id>.out`, parsed, if present.
    fn shared(&self, id: &str) -> Option<Result<Expected, Diagnostics>> {
        self.files.borrow_mut().remove(&file_name(id, None))
    }

    /// `<id>.<host>.out` files: (what stands between the id and `.out`, parsed content).
    fn per_host(&self, id: &str) -> Vec<(String, Result<Expected, Diagnostics>)> {
        let prefix = format!("{id}.");
        let mut files = self.files.borrow_mut();
        let names: Vec<String> = files
            .range(prefix.clone()..)
            .map(|(name, _)| name)
            .take_while(|name| name.starts_with(&prefix))
            .filter(|name| name.len() > prefix.len() + EXTENSION.len())
            .cloned()
            .collect();
        names
            .into_iter()
            .filter_map(|name| {
                let host = name[prefix.len()..name.len() - EXTENSION.len()].to_string();
                files.remove(&name).map(|loaded| (host, loaded))
            })
            .collect()
    }
}

/// The expected outputs of a shell block: `<id>.out` (or else the console block after it)
/// for all its hosts, and `<id>.<host>.out` for one host.
pub(crate) fn of_block(
    chapter: &Chapter,
    block: &Block,
    inventory: &Inventory,
    listing: &Listing,
) -> Result<Expectations, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut expectations = Expectations::default();
    // A verbatim block's expected output is no template either: read it again so.
    let reading = Reading {
        templates: !block.attributes.verbatim,
    };
    let reread = |loaded: Result<Expected, Diagnostics>, host: Option<&str>| {
        if reading.templates {
            loaded
        } else {
            load_expected(&listing.folder.join(file_name(&block.id, host)), reading)
        }
    };
    if let Some(loaded) = listing.shared(&block.id) {
        match reread(loaded, None) {
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
        match reread(loaded, Some(&host)) {
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
