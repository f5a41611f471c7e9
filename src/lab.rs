//! What `runbook step` and `runbook check` need to work on a lab, set up the way `verify` does
//! it: secrets to redact (inventory and `--secret`), sessions to the hosts, and a stop request
//! raised by SIGINT, SIGTERM, SIGHUP or SIGQUIT.

use std::path::Path;
use std::sync::Arc;

use crate::cli::SessionArgs;
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

/// Prepares sessions (opened lazily, on a block's first use) and the signal listener, for
/// `verify`, `step` and `check` alike. A secret name that is not a variable is an input error:
/// a typo there would leave the real secret visible. `output_cap` overrides the output kept
/// per block. `contain`: the run sweeps what its blocks leave at its end, so each session may
/// get a cgroup of its own (`SessionSettings::contain`). Must be called inside the tokio
/// runtime.
pub(crate) fn prepare(
    plan: &Plan,
    workshop_dir: &Path,
    args: &SessionArgs,
    output_cap: Option<usize>,
    contain: bool,
) -> Result<Lab, Diagnostics> {
    let all_vars = crate::secret::every_value(&plan.inventory, &plan.overrides);
    let unknown =
        crate::secret::check_names(&args.secrets, &plan.inventory, workshop_dir, &all_vars);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let redactor = Redactor::for_lab(&plan.inventory, &plan.overrides, &args.secrets);

    let cancel = Cancel::on_signals();
    let defaults = SessionSettings::default();
    let settings = SessionSettings {
        connect_timeout: args.connect_timeout,
        grace: args.grace,
        output_cap: output_cap.unwrap_or(defaults.output_cap),
        contain,
        ..defaults
    };
    let sessions = Arc::new(Sessions::new(Arc::new(plan.inventory.clone()), settings));
    Ok(Lab {
        sessions,
        redactor,
        cancel,
    })
}
