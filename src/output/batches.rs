//! Writing findings batch by batch, in any format, holding none of them (a table
//! holds one page): a hunt with millions of findings writes them in flat memory.
//! The output is the one the whole list written at once gives, except that a table
//! of more than [`TABLE_PAGE`] rows is written as consecutive tables.

use std::io::{self, Write};

use sighunt_core::finding::{Finding, Severity};

use super::table::{self, SummaryCounts, TableOptions};
use super::{OutputFormat, write_csv_batch, write_documents, write_jsonl};

/// Rows of one table at most: a table is laid out whole (column widths from every
/// row), so a huge hunt is shown as consecutive tables of this many rows.
pub const TABLE_PAGE: usize = 1000;

/// Where findings are written, a batch at a time; remembers what was written (for
/// the exit status and the summary).
pub struct FindingWriter {
    out: Box<dyn Write + Send>,
    format: OutputFormat,
    table: TableOptions,
    csv_header_done: bool,
    page: Vec<Finding>,
    pages: u64,
    counts: SummaryCounts,
    /// Findings written.
    pub written: u64,
    /// The highest severity written.
    pub worst: Option<Severity>,
    /// Findings written per severity, indexed like [`Severity::ALL`].
    pub by_severity: [u64; 5],
}

impl FindingWriter {
    pub fn new(out: Box<dyn Write + Send>, format: OutputFormat, table: TableOptions) -> Self {
        FindingWriter {
            out,
            format,
            table,
            csv_header_done: false,
            page: Vec::new(),
            pages: 0,
            counts: SummaryCounts::default(),
            written: 0,
            worst: None,
            by_severity: [0; 5],
        }
    }

    /// Writes findings (a table once a page is full, or at the end).
    pub fn write(&mut self, findings: &[Finding]) -> io::Result<()> {
        for f in findings {
            self.written += 1;
            self.by_severity[f.severity as usize] += 1;
            self.worst = self.worst.max(Some(f.severity));
        }
        match self.format {
            OutputFormat::Jsonl => write_jsonl(&mut self.out, findings),
            OutputFormat::Csv => {
                let header = !self.csv_header_done;
                self.csv_header_done = true;
                write_csv_batch(&mut self.out, findings, header)
            }
            OutputFormat::Ecs | OutputFormat::Ocsf | OutputFormat::Timesketch => {
                write_documents(&mut self.out, self.format, findings)
            }
            OutputFormat::Table => {
                for f in findings {
                    self.counts.add(f);
                    self.page.push(f.clone());
                    if self.page.len() >= TABLE_PAGE {
                        self.write_page()?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Writes the table page held, without the summary.
    fn write_page(&mut self) -> io::Result<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        if self.pages > 0 {
            writeln!(self.out)?;
        }
        let options = TableOptions {
            summary: false,
            ..self.table
        };
        table::write_table_with(&mut self.out, &self.page, &options)?;
        self.page.clear();
        self.pages += 1;
        Ok(())
    }

    /// Pushes what was written to the output (the OS), so it survives an exit.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the output: the last table page and the counts under it, "No findings."
    /// for an empty table (unless `quiet_when_empty`: nothing was read, and an error
    /// says so), the CSV header when nothing was written; flushed.
    pub fn finish(&mut self, quiet_when_empty: bool) -> io::Result<()> {
        match self.format {
            OutputFormat::Table if self.written == 0 && !quiet_when_empty => {
                table::write_table_with(&mut self.out, &[], &self.table)?;
            }
            OutputFormat::Table if self.written == 0 => {}
            OutputFormat::Table => {
                self.write_page()?;
                if self.table.summary {
                    writeln!(self.out)?;
                    let width = self.table.width.unwrap_or(usize::MAX);
                    for line in table::wrap(&self.counts.line(), width) {
                        writeln!(self.out, "{line}")?;
                    }
                }
            }
            OutputFormat::Csv if !self.csv_header_done => self.write(&[])?,
            _ => {}
        }
        self.out.flush()
    }
}
