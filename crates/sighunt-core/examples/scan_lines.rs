//! Embedding sighunt-core: scan a stream of log lines (any text format sighunt reads,
//! sniffed from the first lines) and print each finding as it is released.
//!
//! ```sh
//! cargo run -p sighunt-core --example scan_lines < examples/linux/audit-raw.log
//! ```
//!
//! The program owns the loop; the library owns parsing, detection, the allow-list
//! and the hold. `Hold::Batch` releases every finding at the end of input; a
//! long-running program would use `Hold::Wall` and call `take_ready` as it goes.

use std::io::{self, BufRead};
use std::process::ExitCode;

use sighunt_core::engine::{Engine, EngineOptions, Hold};
use sighunt_core::rules::Rules;
use sighunt_core::sources::feeder::Feeder;

fn main() -> ExitCode {
    let rules = Rules::embedded();
    let options = EngineOptions {
        hold: Hold::Batch,
        ..EngineOptions::default()
    };
    let on_error = Box::new(|e: &sighunt_core::input::InputError| eprintln!("input error: {e}"));
    let mut engine = match Engine::new(&rules, options, on_error) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("bad rules: {e}");
            return ExitCode::from(2);
        }
    };
    let mut feeder = Feeder::new("stdin".into(), None);
    for (i, line) in io::stdin().lock().split(b'\n').enumerate() {
        match line {
            Ok(line) => feeder.line(&line, i as u64 + 1, &mut engine),
            Err(e) => {
                eprintln!("read error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    feeder.flush(&mut engine);
    let ready = engine.finish();
    for r in &ready {
        let f = &r.finding;
        println!(
            "{} {:<8} {:<24} {}",
            f.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
            f.severity.to_string(),
            f.detection_type.as_str(),
            f.command_line
        );
    }
    eprintln!("{} events, {} findings", engine.stats.events, ready.len());
    ExitCode::SUCCESS
}
