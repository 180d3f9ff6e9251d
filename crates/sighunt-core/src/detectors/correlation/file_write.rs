//! Payloads written to disk: an EDR's file event (MDE DeviceFileEvents `FileCreated`,
//! `FileModified`, `FileRenamed`) counts as preparing the file, as a `chmod +x` or a
//! download seen in a command line does, so "written to /tmp, then nohup'd" gets
//! `payload_written` from telemetry that records no chmod.

use super::{Correlator, Prepared, canonical, host_key, resolve};
use crate::event::FileWrite;
use crate::finding::Related;

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
        let key = (host_key(&f.host), Box::from(canonical(&path)));
        // The file event names no command: an earlier preparer of the path stays the
        // evidence, else the write itself without a record position.
        let merged = match self.prepared.get(&key) {
            Some(((old, by), _)) => (
                Prepared {
                    written: true,
                    ..*old
                },
                by.clone(),
            ),
            None => (
                Prepared {
                    written: true,
                    ..Prepared::default()
                },
                Related::new("payload_written", "preparation", None, None, None),
            ),
        };
        self.prepared.insert(key, merged, time);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use crate::detectors::nohup::NohupDetector;
    use crate::detectors::{Detector, Findings};
    use crate::event::{Event, FileWrite, FileWriteKind, Position, ProcessStart, Provenance};
    use crate::finding::Finding;
    use crate::rules::Rules;

    fn write(secs: i64, host: &str, path: &str) -> Event {
        Event::FileWrite(FileWrite {
            time: Some(Utc.timestamp_opt(1_795_838_965 + secs, 0).unwrap()),
            host: host.into(),
            pid: Some(10),
            process_guid: None,
            image: Some("/usr/bin/bash".into()),
            path: path.into(),
            kind: FileWriteKind::Created,
            provenance: Provenance {
                path: Arc::from("mde.jsonl"),
                position: Position::Line(1),
                format: "mde",
            },
        })
    }

    fn nohup(secs: i64, target: &str) -> Event {
        let mut p = ProcessStart::test_exec(&["nohup", target], 101, 10);
        p.time = Some(Utc.timestamp_opt(1_795_838_965 + secs, 0).unwrap());
        Event::Process(p)
    }

    fn run(events: &[Event]) -> Vec<Finding> {
        let mut d = NohupDetector::new(&Rules::embedded()).unwrap();
        let mut out = Findings::default();
        for e in events {
            d.observe(e, &mut out);
        }
        out.drain()
    }

    fn prepared(events: &[Event]) -> bool {
        let f = run(events);
        assert_eq!(f.len(), 1);
        f[0].indicators.iter().any(|i| i == "payload_written")
    }

    #[test]
    fn a_payload_written_then_nohuped_is_prepared() {
        let payload = "/tmp/df00tech_test_payload.sh";
        assert!(prepared(&[write(0, "h", payload), nohup(2, payload)]));
        // The path is folded as the launch's is.
        assert!(prepared(&[
            write(0, "h", "/tmp/./x/../df00tech_test_payload.sh"),
            nohup(2, payload)
        ]));
        // Not: written after the launch, on another host, another file, or long before
        // (the rule data's prepare window).
        assert!(!prepared(&[nohup(0, payload), write(2, "h", payload)]));
        assert!(!prepared(&[write(0, "other", payload), nohup(2, payload)]));
        assert!(!prepared(&[
            write(0, "h", "/tmp/other.sh"),
            nohup(2, payload)
        ]));
        assert!(!prepared(&[
            write(0, "h", payload),
            nohup(100_000, payload)
        ]));
    }
}
