//! sighunt-core: the detection engine of sighunt, for MITRE ATT&CK T1564.011
//! *Ignore Process Interrupts* — programs started so that a hang-up, Ctrl-C or `kill`
//! cannot stop them — as a library with no command-line or terminal dependency.
//!
//! The data flows one way, and the modules follow it:
//!
//! * [`input`] opens files, directories and stdin, decompresses, sniffs the format,
//!   splits bytes into bounded lines and follows growing files;
//! * [`sources`] parse each format into normalized [`event`]s;
//! * [`engine`] feeds events to the [`detectors`] (weighted by the [`rules`] data),
//!   holds, allow-lists ([`allowlist`]) and counts the [`finding`]s, in every mode:
//!   a hunt over files ([`engine::hunt`]), following growing inputs
//!   ([`engine::follow`]), or events pushed by an embedding program;
//! * [`explain`] says why a finding was made, [`export`] turns the rules into SIEM
//!   queries, [`live`] checks the processes of a running host, and [`profile`]
//!   applies the seed query's exact semantics instead of sighunt's.
//!
//! Shared helpers: [`command`] (what a command line runs, through wrappers) and
//! [`shell`] (a POSIX shell lexer), [`pwsh`] (PowerShell read as PowerShell reads
//! it) and [`cmdexe`] (cmd.exe's command-line rules).
//!
//! # Embedding
//!
//! ```no_run
//! use sighunt_core::engine::{Engine, EngineOptions, Hold};
//! use sighunt_core::rules::Rules;
//! use sighunt_core::sources::feeder::Feeder;
//!
//! let rules = Rules::embedded();
//! let options = EngineOptions { hold: Hold::Batch, ..EngineOptions::default() };
//! let mut engine = Engine::new(&rules, options, Box::new(|e| eprintln!("{e}"))).unwrap();
//! let mut feeder = Feeder::new("stdin".into(), None);
//! feeder.line(b"type=SYSCALL msg=audit(1.0:1): ...", 1, &mut engine);
//! feeder.flush(&mut engine);
//! for ready in engine.finish() {
//!     println!("{} {}", ready.finding.severity, ready.finding.command_line);
//! }
//! ```

pub mod allowlist;
pub mod cmdexe;
pub mod command;
pub mod detectors;
pub mod engine;
pub mod event;
pub mod explain;
pub mod export;
pub mod finding;
pub mod input;
pub mod live;
pub mod profile;
pub mod pwsh;
pub mod rules;
pub mod shell;
pub mod sources;
#[cfg(test)]
mod test_rng;
mod text;
