//! Reading a file line by line from an offset with bounded memory: a line longer than the
//! limit is reported (and skipped) without being held, and an unterminated last line is
//! returned as partial so the caller can leave it for later (a writer may still be writing it).

use std::io::{self, BufRead};

/// One step of [`Lines::next_line`].
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A complete line `[start, end)` (`end` past its newline); its bytes, without the newline
    /// (and a trailing `\r`), are in [`Lines::line`].
    Line {
        start: u64,
        end: u64,
    },
    /// A complete line longer than the limit: skipped, its bytes were not kept.
    TooLong {
        start: u64,
        end: u64,
    },
    /// Bytes after the last newline, up to the end of the file: possibly a line still being
    /// written. Its bytes are in [`Lines::line`] unless `too_long`.
    Partial {
        start: u64,
        end: u64,
        too_long: bool,
    },
    Eof,
}

/// A line reader over a buffered reader positioned at `offset`.
pub struct Lines<R> {
    reader: R,
    offset: u64,
    max: usize,
    line: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, offset: u64, max_line_bytes: usize) -> Lines<R> {
        Lines {
            reader,
            offset,
            max: max_line_bytes,
            line: Vec::new(),
        }
    }

    /// The bytes of the last line returned.
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Absolute offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn next_line(&mut self) -> io::Result<Next> {
        self.line.clear();
        let start = self.offset;
        let mut too_long = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if self.offset == start {
                    return Ok(Next::Eof);
                }
                return Ok(Next::Partial {
                    start,
                    end: self.offset,
                    too_long,
                });
            }
            let (take, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            if !too_long {
                let body = if done {
                    &available[..take - 1]
                } else {
                    available
                };
                if self.line.len() + body.len() > self.max {
                    too_long = true;
                    self.line = Vec::new();
                } else {
                    self.line.extend_from_slice(body);
                }
            }
            self.reader.consume(take);
            self.offset += take as u64;
            if done {
                if too_long {
                    return Ok(Next::TooLong {
                        start,
                        end: self.offset,
                    });
                }
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
                return Ok(Next::Line {
                    start,
                    end: self.offset,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], max: usize, offset: u64) -> Vec<(Next, Vec<u8>)> {
        let mut lines = Lines::new(io::BufReader::with_capacity(4, text), offset, max);
        let mut out = Vec::new();
        loop {
            let next = lines.next_line().unwrap();
            if next == Next::Eof {
                return out;
            }
            out.push((next, lines.line().to_vec()));
        }
    }

    #[test]
    fn lines_partial_tail_and_long_lines() {
        let got = all(b"ab\r\n\nlong line here\ncd", 5, 10);
        assert_eq!(
            got,
            vec![
                (Next::Line { start: 10, end: 14 }, b"ab".to_vec()),
                (Next::Line { start: 14, end: 15 }, b"".to_vec()),
                (Next::TooLong { start: 15, end: 30 }, b"".to_vec()),
                (
                    Next::Partial {
                        start: 30,
                        end: 32,
                        too_long: false
                    },
                    b"cd".to_vec()
                ),
            ]
        );
        assert!(all(b"", 5, 0).is_empty());
    }
}
