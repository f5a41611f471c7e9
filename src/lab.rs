//! What `runbook step` and `runbook check` need to work on a lab, set up the way `verify` does
//! it: secrets to redact (inventory and `--secret`), sessions to the hosts, and a stop request
//! raised by SIGINT, SIGTERM, SIGHUP or SIGQUIT.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::Diagnostics;
use crate::plan::Plan;
use crate::secret::Redactor;
use crate::session::{Cancel, SessionSettings, Sessions};

#[derive(Debug)]
pub(crate) struct Lab {
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) redactor: Redactor,
    pub(crate) cancel: Cancel,
}

/// Prepares sessions (opened lazily, on a block's first use, with `settings`) and the signal
/// listener, for `verify`, `step` and `check` alike. `secrets` are the `--secret` names: one
/// that is not a variable is an input error, as a typo there would leave the real secret
/// visible. Must be called inside the tokio runtime.
pub(crate) fn prepare(
    plan: &Plan,
    workshop_dir: &Path,
    secrets: &[String],
    settings: SessionSettings,
) -> Result<Lab, Diagnostics> {
    let all_vars = crate::secret::every_value(&plan.inventory, &plan.overrides);
    let unknown = crate::secret::check_names(secrets, &plan.inventory, workshop_dir, &all_vars);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let redactor = Redactor::for_lab(&plan.inventory, &plan.overrides, secrets);

    let cancel = Cancel::on_signals();
    // The environment the course's outputs were printed in (`runbook.yml`), in every shell.
    let settings = SessionSettings {
        env: plan.workshop.settings.env.clone(),
        ..settings
    };
    let sessions = Arc::new(Sessions::new(Arc::new(plan.inventory.clone()), settings));
    Ok(Lab {
        sessions,
        redactor,
        cancel,
    })
}
