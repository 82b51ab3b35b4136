//! Fitting the harness into CI pipelines: split a run into shards (`run --shard I/N`),
//! merge the shards' `results.json` back into one run (`merge`), and re-run only what
//! failed last time (`run --rerun-failed`).

pub mod command;
pub mod merge;
pub mod rerun;
pub mod shard;
