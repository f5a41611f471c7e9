//! The local transport (`runbook_transport: local`: bash on this machine) through the real
//! binary, on a host of its own (`box`): the transport contract of common/contract.rs. A
//! frozen host is a shell session stopped with SIGSTOP, command and all.

mod common;

use common::contract::{self, Transport};

fn local() -> Transport {
    Transport {
        host: "box",
        inventory: "    box:\n      runbook_transport: local\n".into(),
        hostname: contract::here("hostname").trim().to_string(),
        inside: Box::new(contract::here),
        freeze: Box::new(contract::freeze_session),
        thaw: Box::new(contract::thaw_session),
        thaw_says: "T".into(),
        // runbook ends the frozen session itself; nothing stays stopped.
        thaw_on_drop: Box::new(|| {}),
        after_run: Box::new(|_| {}),
        keep: Vec::new(),
    }
}

transport_contract!(local_bash, super::local);
