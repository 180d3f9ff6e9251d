//! Writing a hunt's findings as the engines release them, in flat memory: sorted
//! through an on-disk sort (`--sort time|severity|score`, for people), or as they
//! come (`--sort none`, for machines). A SIGINT or SIGTERM during the hunt writes
//! what was found so far (sorted as asked), then the process exits with status 130.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sighunt_core::engine::hunt::{
    self, Counters, ErrorReporter, FindingSink, HuntOptions, HuntStats, Running,
};
use sighunt_core::engine::spill::{DEFAULT_BUDGET, ExternalSort};
use sighunt_core::finding::Finding;
use sighunt_core::input::Discovered;
use sighunt_core::rules::Rules;

use super::batches::FindingWriter;
use super::order::{self, Rank, SortKey};

/// Findings handed to the writer at once when draining the sort.
const BATCH: usize = 1000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where the findings go: sorted on disk, or straight to the writer. Once the
/// output is taken (the end, or an interrupt), late findings from workers still
/// running are dropped.
struct Output {
    sorter: Mutex<Option<ExternalSort<Rank>>>,
    writer: Mutex<Option<FindingWriter>>,
    /// The first write or spill error: the hunt goes on, the error ends the run.
    error: Mutex<Option<io::Error>>,
}

impl Output {
    fn keep(&self, r: io::Result<()>) {
        if let Err(e) = r {
            lock(&self.error).get_or_insert(e);
        }
    }

    /// Writes what the sort holds, in order, and hands the writer back.
    fn take(&self) -> io::Result<Option<FindingWriter>> {
        let sorter = lock(&self.sorter).take();
        let mut writer = lock(&self.writer).take();
        if let Some(e) = lock(&self.error).take() {
            return Err(e);
        }
        if let (Some(sorter), Some(w)) = (sorter, writer.as_mut()) {
            let mut batch = Vec::with_capacity(BATCH);
            for f in sorter.finish()? {
                batch.push(f?);
                if batch.len() >= BATCH {
                    w.write(&batch)?;
                    batch.clear();
                }
            }
            w.write(&batch)?;
        }
        Ok(writer)
    }
}

impl FindingSink for Output {
    fn findings(&self, input: usize, findings: Vec<Finding>) {
        if findings.is_empty() {
            return;
        }
        let mut sorting = lock(&self.sorter);
        if let Some(sorter) = sorting.as_mut() {
            let r = findings.into_iter().try_for_each(|f| sorter.push(input, f));
            drop(sorting);
            self.keep(r);
            return;
        }
        drop(sorting);
        let mut writer = lock(&self.writer);
        if let Some(w) = writer.as_mut() {
            let r = w.write(&findings);
            drop(writer);
            self.keep(r);
        }
    }

    fn input_done(&self, _input: usize) {
        // Unsorted: what a finished input gave reaches the reader now.
        if lock(&self.sorter).is_none() {
            if let Some(w) = lock(&self.writer).as_mut() {
                let r = w.flush();
                self.keep(r);
            }
        }
    }
}

/// How a hunt ended.
pub struct Outcome {
    pub stats: HuntStats,
    /// The writer, every finding written; [`FindingWriter::finish`] ends it.
    pub writer: FindingWriter,
}

/// What to do once an interrupted hunt's findings are written: print the summary
/// from the counters so far and what was written. The process then exits with 130.
pub type OnInterrupt<'a> = &'a dyn Fn(&HuntStats, &mut FindingWriter);

/// Runs the hunt and writes its findings in `sort` order through `writer`, in flat
/// memory. When `stop` is set (SIGINT, SIGTERM) before the hunt ends, the inputs
/// being read are ended where they are, what was found is written and flushed,
/// `on_interrupt` is called and the process exits with status 130 (the workers are
/// not waited for: one may be blocked on a silent pipe).
#[allow(clippy::too_many_arguments)]
pub fn run(
    found: Vec<Discovered>,
    options: &HuntOptions,
    rules: &Rules,
    on_error: ErrorReporter<'_>,
    counters: &Counters,
    sort: SortKey,
    writer: FindingWriter,
    stop: &AtomicBool,
    on_interrupt: OnInterrupt<'_>,
) -> anyhow::Result<Outcome> {
    let output = Output {
        sorter: Mutex::new(order::rank(sort).map(|rank| ExternalSort::new(rank, DEFAULT_BUDGET))),
        writer: Mutex::new(Some(writer)),
        error: Mutex::new(None),
    };
    let running = Running::default();
    let done = AtomicBool::new(false);
    let waiting = std::thread::current();
    let stats = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let r = hunt::hunt_into(found, options, rules, on_error, counters, &output, &running);
            done.store(true, Ordering::SeqCst);
            waiting.unpark();
            r
        });
        while !done.load(Ordering::SeqCst) {
            if stop.load(Ordering::SeqCst) {
                interrupted(&running, &output, on_interrupt);
            }
            if let Some(e) = lock(&output.error).take() {
                // The output is gone (`| head` read what it wanted) or broken:
                // reading on would be for nothing.
                write_failed(e);
            }
            // Woken at once when the hunt ends; the timeout is for the signal.
            std::thread::park_timeout(Duration::from_millis(50));
        }
        worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })?;
    let writer = output
        .take()?
        .ok_or_else(|| io::Error::other("the output was closed"))?;
    Ok(Outcome { stats, writer })
}

/// Ends the inputs being read, writes what the hunt found, and exits with 130.
fn interrupted(running: &Running<'_>, output: &Output, on_interrupt: OnInterrupt<'_>) -> ! {
    let stats = running.interrupt(output);
    match output.take() {
        Ok(Some(mut writer)) => {
            let finished = writer.finish(false);
            on_interrupt(&stats, &mut writer);
            if let Err(e) = finished {
                crate::say!("sighunt: error: writing the findings: {e}");
            }
        }
        Ok(None) => {}
        Err(e) => crate::say!("sighunt: error: writing the findings: {e}"),
    }
    std::process::exit(130);
}

/// Ends the process when findings cannot be written mid-hunt: quietly with status 0
/// when the reader of the output went away (a broken pipe, as a finished hunt does),
/// else with the error and status 2.
fn write_failed(e: io::Error) -> ! {
    if super::io_broken_pipe(&e) {
        std::process::exit(0);
    }
    crate::say!("sighunt: error: writing the findings: {e}");
    std::process::exit(2);
}
