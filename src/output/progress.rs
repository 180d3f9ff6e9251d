//! A progress bar on stderr for long hunts: files done of found, bytes read (of the
//! total when the inputs are files, so one big file moves the bar as it is read),
//! the read rate and findings so far. Shown only when stderr is a terminal, so pipelines
//! and CI logs stay clean.
//!
//! Workers only bump atomic counters ([`Counters`]); one ticker thread turns them
//! into the bar five times a second, so a busy scan pays no locking for it.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sighunt_core::engine::hunt::Counters;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A running progress display, or nothing when stderr is not a terminal.
pub struct Progress {
    counters: Arc<Counters>,
    bar: Option<ProgressBar>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(200);

impl Progress {
    /// Starts a display for `total_files` inputs of `total_bytes` (`None` when not
    /// known: stdin) when `wanted` and stderr is a terminal; otherwise only counts.
    pub fn start(total_files: u64, total_bytes: Option<u64>, wanted: bool) -> Progress {
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress {
                counters,
                bar: None,
                stop,
                ticker: None,
            };
        }
        // The bar measures bytes when the total is known, files otherwise.
        let by_bytes = total_bytes.filter(|b| *b > 0);
        let bar = ProgressBar::with_draw_target(
            Some(by_bytes.unwrap_or(total_files)),
            ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:20} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let ticker = {
            let (bar, counters, stop) = (bar.clone(), counters.clone(), stop.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    // Woken early by `finish`, so a short hunt does not wait a tick.
                    std::thread::park_timeout(TICK);
                    let files_done = counters.files_done.load(Ordering::Relaxed);
                    bar.set_position(match by_bytes {
                        // Decompressed bytes can outrun the size on disk: the bar
                        // stays short of full until the last file is done.
                        Some(total) if files_done < total_files => {
                            counters.bytes.load(Ordering::Relaxed).min(total - 1)
                        }
                        Some(total) => total,
                        None => files_done,
                    });
                    let line = status(&counters, started.elapsed(), by_bytes);
                    bar.set_message(format!("{files_done}/{total_files} files  {line}"));
                }
            })
        };
        Progress {
            counters,
            bar: Some(bar),
            stop,
            ticker: Some(ticker),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Runs `f` (which writes to stderr) with the bar hidden, so lines do not mix.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the bar for good from any thread (an interrupted hunt, about to exit,
    /// prints its summary); the ticker stops drawing.
    pub fn clear(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Stops the ticker and clears the bar, leaving stderr for the summary line.
    pub fn finish(mut self) {
        self.stop_ticker();
    }

    fn stop_ticker(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}

/// `1.2 GiB of 3.0 GiB read, 310 MiB/s, 7 findings` (without `of …` when the total
/// is not known).
fn status(c: &Counters, elapsed: Duration, total_bytes: Option<u64>) -> String {
    let bytes = c.bytes.load(Ordering::Relaxed);
    let findings = c.findings.load(Ordering::Relaxed);
    let rate = bytes as f64 / elapsed.as_secs_f64().max(0.001);
    let of = total_bytes
        .map(|t| format!(" of {}", indicatif::BinaryBytes(t)))
        .unwrap_or_default();
    format!(
        "{}{of} read, {}/s, {findings} finding{}",
        indicatif::BinaryBytes(bytes),
        indicatif::BinaryBytes(rate as u64),
        if findings == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_reports_bytes_rate_and_findings() {
        let c = Counters::default();
        c.add_bytes(3 * 1024 * 1024);
        c.findings.fetch_add(1, Ordering::Relaxed);
        assert_eq!(
            status(&c, Duration::from_secs(2), None),
            "3.00 MiB read, 1.50 MiB/s, 1 finding"
        );
        assert_eq!(
            status(&c, Duration::from_secs(2), Some(12 * 1024 * 1024)),
            "3.00 MiB of 12.00 MiB read, 1.50 MiB/s, 1 finding"
        );
    }

    #[test]
    fn silent_when_stderr_is_not_a_terminal_or_not_wanted() {
        // Under `cargo test`, stderr is captured or piped: never a bar.
        let p = Progress::start(10, Some(100), false);
        assert!(p.bar.is_none() && p.ticker.is_none());
        p.counters().add_bytes(5);
        assert_eq!(p.counters().bytes.load(Ordering::Relaxed), 5);
        p.finish();
    }
}
