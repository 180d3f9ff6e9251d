//! sighunt: a detection engine for MITRE ATT&CK T1564.011 *Ignore Process
//! Interrupts* — programs started so that a hang-up, Ctrl-C or `kill` cannot stop
//! them.
//!
//! The data flows one way, and the modules follow it:
//!
//! * [`input`] opens files, directories and stdin, decompresses and sniffs the format;
//! * [`sources`] parse each format into normalized [`event`]s;
//! * [`detectors`] turn events into scored, explained [`finding`]s, weighted by the
//!   [`rules`] data;
//! * [`output`] writes findings as a table, JSON Lines or CSV.
//!
//! [`pipeline`] wires these together for a hunt; the binary only parses arguments.

pub mod allowlist;
pub mod command;
pub mod detectors;
pub mod event;
pub mod explain;
pub mod export;
pub mod finding;
pub mod follow;
pub mod input;
pub mod live;
pub mod output;
pub mod pipeline;
pub mod plugin;
pub mod profile;
pub mod rules;
#[cfg(all(feature = "ebpf", target_os = "linux"))]
pub mod sense;
pub mod shell;
pub mod sources;
#[cfg(feature = "kafka")]
pub mod stream;
