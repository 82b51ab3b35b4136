//! Safe on a live tenant: profiles that decide before anything is sent which cases may
//! run, the dry-run plan, and the ledger of everything a run creates, undone at the end
//! of the run (or by `thoth-conformance cleanup --ledger FILE` after a crash).

pub mod allowed;
pub mod call;
pub mod lease;
pub mod ledger;
pub mod plan;
pub mod profile;
pub mod record;
pub mod session;
pub mod snapshot;
pub mod undo;

pub use ledger::{Ledger, Replay};
pub use profile::Profile;
pub use record::Recorder;
pub use undo::{undo_pending, CleanupReport};
