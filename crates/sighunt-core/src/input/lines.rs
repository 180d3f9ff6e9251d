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
///
/// A line that lies whole in the reader's buffer (almost every line, with a buffer
/// of a few hundred KiB) is returned as a slice of that buffer and consumed on the
/// next call: no copy. Only a line cut by the buffer's end is assembled in `buf`.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max_len: usize,
    line_no: u64,
    offset: u64,
    /// Bytes of `inner`'s buffer handed out by the last call, consumed by the next.
    pending: usize,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_len: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            max_len,
            line_no: 0,
            offset: 0,
            pending: 0,
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

    /// Hands `each` every line that lies whole in the reader's buffer now, with its
    /// 1-based number, and consumes them: one buffer fill and one consume per
    /// buffer instead of per line (through a boxed reader each is a dynamic call).
    /// Returns how many lines it handed out; 0 means the next line is cut by the
    /// buffer's end, longer than the cap, or absent: [`Self::next_line`] reads it.
    pub fn whole_lines(&mut self, mut each: impl FnMut(&[u8], u64)) -> io::Result<usize> {
        if self.pending > 0 {
            self.inner.consume(self.pending);
            self.pending = 0;
        }
        let chunk = loop {
            match self.inner.fill_buf() {
                Ok(chunk) => break chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let mut start = 0;
        let mut count = 0;
        for newline in memchr::memchr_iter(b'\n', chunk) {
            if newline - start > self.max_len {
                break;
            }
            let mut line = &chunk[start..newline];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            self.line_no += 1;
            each(line, self.line_no);
            start = newline + 1;
            count += 1;
        }
        self.inner.consume(start);
        self.offset += start as u64;
        Ok(count)
    }

    /// The next line, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if self.pending > 0 {
            self.inner.consume(self.pending);
            self.pending = 0;
        }
        // The fast path: the whole line is in the buffer already.
        let whole = loop {
            match self.inner.fill_buf() {
                Ok(chunk) => break memchr::memchr(b'\n', chunk),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if let Some(i) = whole.filter(|&i| i <= self.max_len) {
            self.pending = i + 1;
            self.offset += i as u64 + 1;
            self.line_no += 1;
            let chunk = self.inner.fill_buf()?;
            let mut line = &chunk[..i];
            if line.last() == Some(&b'\r') {
                line = &line[..i - 1];
            }
            return Ok(Some(Line::Text(line)));
        }
        self.slow_line()
    }

    /// A line cut by the end of the buffer (or longer than the cap): assembled in
    /// `buf`, or skipped unbuffered.
    fn slow_line(&mut self) -> io::Result<Option<Line<'_>>> {
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
        collect_with(input, max, 7)
    }

    fn collect_with(input: &[u8], max: usize, capacity: usize) -> Vec<String> {
        let mut r = LineReader::new(io::BufReader::with_capacity(capacity, input), max);
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

    /// Lines read the way `feed_lines` reads them: whole buffers first, the rest one
    /// by one.
    fn collect_batched(input: &[u8], max: usize, capacity: usize) -> (Vec<String>, u64, u64) {
        let mut r = LineReader::new(io::BufReader::with_capacity(capacity, input), max);
        let mut out = Vec::new();
        loop {
            let n = r
                .whole_lines(|t, no| {
                    assert_eq!(no as usize, out.len() + 1);
                    out.push(String::from_utf8_lossy(t).into_owned());
                })
                .unwrap();
            if n > 0 {
                continue;
            }
            match r.next_line().unwrap() {
                Some(Line::Text(t)) => out.push(String::from_utf8_lossy(t).into_owned()),
                Some(Line::TooLong { bytes }) => out.push(format!("<too long {bytes}>")),
                None => break,
            }
        }
        (out, r.offset(), r.line_no())
    }

    #[test]
    fn every_buffer_size_reads_the_same_lines_and_offsets() {
        // Lines whole in the buffer are borrowed from it, lines cut by its end are
        // assembled: both paths must agree, whatever the buffer size.
        let mut input = Vec::new();
        for i in 0..200 {
            input.extend_from_slice(format!("line {i} {}\r\n", "x".repeat(i % 37)).as_bytes());
            if i % 50 == 0 {
                input.extend_from_slice(&[b'y'; 120]);
                input.push(b'\n');
            }
        }
        input.extend_from_slice(b"no newline at the end");
        let want = collect_with(&input, 100, 1);
        assert_eq!(want.len(), 205);
        assert_eq!(want[1], "<too long 121>");
        for capacity in [2, 7, 64, 100, 101, 4096, 1 << 20] {
            assert_eq!(
                collect_with(&input, 100, capacity),
                want,
                "capacity {capacity}"
            );
            let mut r = LineReader::new(io::BufReader::with_capacity(capacity, &input[..]), 100);
            while r.next_line().unwrap().is_some() {}
            assert_eq!(r.offset(), input.len() as u64, "capacity {capacity}");
            assert_eq!(r.line_no(), 205);
            let (batched, offset, line_no) = collect_batched(&input, 100, capacity);
            assert_eq!(batched, want, "batched, capacity {capacity}");
            assert_eq!((offset, line_no), (input.len() as u64, 205));
        }
    }
}
