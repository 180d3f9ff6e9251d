//! Splitting a byte stream that arrives in arbitrary pieces (a pipe, a growing file,
//! a message bus) into bounded lines.

use crate::sources::MAX_LINE_BYTES;

/// A piece of text split into lines.
pub enum Piece<'a> {
    /// A complete line (without `\n` or a trailing `\r`) and its 1-based number.
    Line(u64, &'a [u8]),
    /// A line over [`MAX_LINE_BYTES`] (its number and length), skipped unbuffered.
    TooLong(u64, u64),
}

/// Splits a byte stream arriving in arbitrary pieces into bounded lines.
#[derive(Default)]
pub struct Splitter {
    /// An incomplete last line.
    partial: Vec<u8>,
    /// Inside a line over the limit: bytes of it skipped so far.
    skipping: Option<u64>,
    line_no: u64,
}

impl Splitter {
    /// A splitter whose first line is numbered `line_no + 1` (a stream of messages
    /// numbered as one input).
    pub fn after_line(line_no: u64) -> Self {
        Splitter {
            line_no,
            ..Splitter::default()
        }
    }

    /// The number of the last line split.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    pub fn split(&mut self, mut data: &[u8], out: &mut dyn FnMut(Piece<'_>)) {
        while !data.is_empty() {
            let (piece, complete) = match memchr::memchr(b'\n', data) {
                Some(i) => (&data[..i], true),
                None => (data, false),
            };
            data = if complete {
                &data[piece.len() + 1..]
            } else {
                &[]
            };
            if let Some(skipped) = &mut self.skipping {
                *skipped += piece.len() as u64 + u64::from(complete);
                if complete {
                    let bytes = *skipped;
                    self.skipping = None;
                    self.line_no += 1;
                    out(Piece::TooLong(self.line_no, bytes));
                }
                continue;
            }
            if self.partial.len() + piece.len() > MAX_LINE_BYTES {
                let bytes = (self.partial.len() + piece.len()) as u64 + u64::from(complete);
                self.partial = Vec::new();
                if complete {
                    self.line_no += 1;
                    out(Piece::TooLong(self.line_no, bytes));
                } else {
                    self.skipping = Some(bytes);
                }
                continue;
            }
            if !complete {
                self.partial.extend_from_slice(piece);
                continue;
            }
            self.line_no += 1;
            if self.partial.is_empty() {
                out(Piece::Line(self.line_no, strip_cr(piece)));
            } else {
                self.partial.extend_from_slice(piece);
                let line = std::mem::take(&mut self.partial);
                out(Piece::Line(self.line_no, strip_cr(&line)));
            }
        }
    }

    /// End of the stream: an unterminated last line is a line.
    pub fn finish(&mut self, out: &mut dyn FnMut(Piece<'_>)) {
        if let Some(bytes) = self.skipping.take() {
            self.line_no += 1;
            out(Piece::TooLong(self.line_no, bytes));
        } else if !self.partial.is_empty() {
            self.line_no += 1;
            let line = std::mem::take(&mut self.partial);
            out(Piece::Line(self.line_no, strip_cr(&line)));
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        let mut push = |p: Piece<'_>| {
            out.push(match p {
                Piece::Line(n, l) => format!("{n}:{}", String::from_utf8_lossy(l)),
                Piece::TooLong(n, b) => format!("{n}:<{b} bytes>"),
            })
        };
        for c in chunks {
            s.split(c, &mut push);
        }
        s.finish(&mut push);
        out
    }

    #[test]
    fn splits_lines_cut_anywhere() {
        assert_eq!(
            pieces(&[b"ab", b"c\r\nde", b"f\n\ng", b"h"]),
            ["1:abc", "2:def", "3:", "4:gh"]
        );
        assert!(pieces(&[]).is_empty());
    }

    #[test]
    fn skips_over_long_lines_without_buffering_them() {
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let (a, b) = long.split_at(MAX_LINE_BYTES - 5);
        let out = pieces(&[b"ok\n", a, b, b"\nnext\n"]);
        assert_eq!(
            out,
            [
                "1:ok",
                &format!("2:<{} bytes>", MAX_LINE_BYTES + 11),
                "3:next"
            ]
        );
    }
}
