//! A bounded line reader: yields each line as a byte slice without allocating per
//! line, and refuses to buffer a line longer than a cap (logs are attacker-controlled;
//! a 100 MB line must cost neither 100 MB of memory nor the rest of the file).

use std::io::{self, BufRead};

/// What the reader produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// One line, without its `\n` (and without a trailing `\r`).
    Text(&'a [u8]),
    /// A line longer than the cap: its bytes were skipped, not buffered.
    TooLong { bytes: u64 },
}

/// Reads lines of at most `max_len` bytes from a `BufRead`.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max_len: usize,
    line_no: u64,
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_len: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(4096),
            max_len,
            line_no: 0,
            offset: 0,
        }
    }

    /// The 1-based number of the line last returned.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Bytes consumed so far (the offset of the next line).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next line, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut too_long: Option<u64> = None;
        let mut saw_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = if done {
                &chunk[..take - 1]
            } else {
                &chunk[..take]
            };
            match too_long.as_mut() {
                Some(n) => *n += take as u64,
                None if self.buf.len() + content.len() > self.max_len => {
                    too_long = Some((self.buf.len() + take) as u64);
                    self.buf.clear();
                }
                None => self.buf.extend_from_slice(content),
            }
            self.inner.consume(take);
            self.offset += take as u64;
            if done {
                break;
            }
        }
        self.line_no += 1;
        if let Some(bytes) = too_long {
            return Ok(Some(Line::TooLong { bytes }));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Text(&self.buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Vec<String> {
        let mut r = LineReader::new(io::BufReader::with_capacity(7, input), max);
        let mut out = Vec::new();
        while let Some(line) = r.next_line().unwrap() {
            out.push(match line {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong { bytes } => format!("<too long {bytes}>"),
            });
        }
        out
    }

    #[test]
    fn splits_lines_across_small_buffers() {
        assert_eq!(
            collect(b"ab\r\ncdefghij\n\nlast", 100),
            ["ab", "cdefghij", "", "last"]
        );
        assert!(collect(b"", 100).is_empty());
    }

    #[test]
    fn skips_over_long_lines_and_keeps_going() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(collect(&input, 10), ["<too long 1001>", "ok"]);
    }
}
