//! Where a step runs: `on=` (a host, a group or a comma list) resolved against the inventory.

use std::path::Path;

use crate::diagnostic::did_you_mean;
use crate::inventory::Inventory;

/// Resolves `on=`; on failure, the byte range of the faulty name within `spec`, the message
/// and the hint.
pub(super) fn check_on(
    inventory: &Inventory,
    spec: &str,
    workshop_dir: &Path,
) -> Result<Vec<String>, (std::ops::Range<usize>, String, String)> {
    let mut offset = 0;
    for part in spec.split(',') {
        let start = offset + (part.len() - part.trim_start().len());
        let name = part.trim();
        offset += part.len() + 1;
        if name.is_empty() {
            // Underline the comma next to the gap.
            let comma = if start > 0 { start - 1 } else { start };
            return Err((
                comma..comma + 1,
                format!("`on={spec}` has an empty name in its list"),
                "separate names with single commas, e.g. `on=e1,e2`".to_string(),
            ));
        }
        if inventory.resolve(name).is_ok() {
            continue;
        }
        let known = inventory.names();
        let range = start..start + name.len();
        let (message, fallback) = match &inventory.path {
            Some(path) => (
                format!(
                    "`{name}` is neither a host nor a group of {}",
                    path.display()
                ),
                format!(
                    "add `{name}` to {} as a host or a group, or fix the name; it has: {}",
                    path.display(),
                    known.join(", ")
                ),
            ),
            None => (
                format!(
                    "`{name}` is not a known host: there is no inventory, so only `localhost` exists"
                ),
                format!(
                    "create {} (Ansible's YAML shape) listing the lab's hosts",
                    workshop_dir.join("inventory.yml").display()
                ),
            ),
        };
        let hint = match did_you_mean(name, known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => fallback,
        };
        return Err((range, message, hint));
    }
    inventory
        .resolve(spec)
        .map_err(|message| (0..spec.len(), message, "fix the host list".to_string()))
}
