//! Payloads written to disk: an EDR's file event (MDE DeviceFileEvents `FileCreated`,
//! `FileModified`, `FileRenamed`) counts as preparing the file, as a `chmod +x` or a
//! download seen in a command line does, so "written to /tmp, then nohup'd" gets
//! `payload_made_executable` from telemetry that records no chmod.

use super::{Correlator, cap, host_key, resolve};
use crate::event::FileWrite;

impl Correlator {
    /// Remembers the path a file event wrote, in the same bounded table (and under the
    /// same window) as the paths chmod, install and downloads prepare.
    pub(super) fn remember_file_write(&mut self, f: &FileWrite) {
        if f.path.is_empty() {
            return;
        }
        let time = self.time_of(f.time);
        // Unix paths are folded as a launch's payload path is; Windows paths are kept.
        let path = if f.path.starts_with('/') {
            resolve(&f.path, None)
        } else {
            f.path.clone()
        };
        self.prepared
            .insert((host_key(&f.host), Box::from(cap(&path))), "write", time);
    }
}
