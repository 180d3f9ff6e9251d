//! sighunt, the command-line tool: argument handling, outputs for people and
//! machines, the progress bar, and the continuous modes' front ends (`hunt
//! --follow`, the auditd plugin, the Kafka stream). The detection engine is the
//! [`sighunt_core`] library.

pub mod follow;
pub mod output;
pub mod plugin;
#[cfg(all(feature = "ebpf", target_os = "linux"))]
pub mod sense;
pub mod signals;
#[cfg(feature = "kafka")]
pub mod stream;
