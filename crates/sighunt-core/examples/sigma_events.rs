//! The events sighunt reads from files, as JSON Lines under their Sigma log
//! sources with Sigma's field names (see `sighunt_core::export::events`): the input
//! of the differential test in `scripts/ci-exports.sh`, which runs the exported
//! Sigma rules over them and compares with `sighunt hunt`.
//!
//! ```sh
//! cargo run -p sighunt-core --example sigma_events -- examples/ > events.jsonl
//! ```
//!
//! Each line: `path`, `position` (`line N`/`record N`, as findings name it),
//! `format`, `time`, `host`, `product`, `category` or `service`, and the fields.
//! Input errors are reported on stderr and the run goes on.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use sighunt_core::export::events::{position_label, sigma_events};
use sighunt_core::input::{discover, open};
use sighunt_core::sources::{CollectingSink, read_input};

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: sigma_events PATH...");
        return ExitCode::from(2);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for found in discover(&paths) {
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let opened = match open(&found.spec, None) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{}: {e}", found.spec.display());
                continue;
            }
        };
        let mut sink = CollectingSink::default();
        read_input(opened, &mut sink);
        for e in &sink.errors {
            eprintln!("{e}");
        }
        for event in &sink.events {
            let prov = event.provenance();
            for se in sigma_events(event) {
                let fields: Map<String, Value> = se
                    .fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v)))
                    .collect();
                let mut line = json!({
                    "path": &*prov.path,
                    "position": position_label(prov.position),
                    "format": prov.format,
                    "time": event.time().map(|t| t.to_rfc3339()),
                    "product": se.logsource.product,
                    "fields": fields,
                });
                line[se.logsource.kind] = json!(se.logsource.name);
                if writeln!(out, "{line}").is_err() {
                    return ExitCode::from(2);
                }
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
