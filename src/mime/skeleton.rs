//! A large message's MIME structure without its bulk, read in pieces.
//!
//! Deciding whether a message's entity can be signed or encrypted as it is (CRLF line ends, no
//! leaf that needs a transfer encoding: see `smime::split_entity`) means parsing the whole
//! message, and the parser borrows from one buffer: in wasm, a copy of the whole message in
//! linear memory, which never shrinks. A [`Skeleton`] reads the message in pieces instead and
//! keeps only what that decision reads, in a small stand-in message:
//! - the top-level header section, every line that starts with `--` (any multipart delimiter
//!   does) and the lines after such a line up to and including the next empty line (a part's
//!   header section), and the body of a part whose header section names `pkcs7-signature` up
//!   to the next line that starts with `--` (a detached signature), byte for byte;
//! - for each run of other lines, one placeholder line per kind of line the run holds: `x`
//!   (a 7-bit line that needs no encoding), `x ` (one that does: over 998 bytes, trailing
//!   white space, `From ` at its start, a NUL) and a byte `0x80` (8-bit data).
//!
//! No delimiter can hide in a run (it would start a line with `--`), so the stand-in has the
//! same multipart structure, the same header fields, and in every leaf body the same answer to
//! "does it need encoding, is it ASCII" (both ask each line in turn). What it does not keep:
//! any body byte of those runs. Where each kept line was in the message is recorded
//! ([`StandIn::original`]), so that an offset the stand-in's parse finds at a kept line's start
//! or end can be taken back to the message. A message whose line ends are not all CRLF, a kept
//! line over 1 KiB, or kept lines past [`MAX_SKELETON`], is given up on ([`Skeleton::feed`]
//! says so): the caller takes the whole-message path, which converts or reports it.

use alloc::vec::Vec;

/// The stand-in grows to at most this many bytes; past it the message is read whole.
pub const MAX_SKELETON: usize = 4 * 1024 * 1024;

/// A line's bytes kept while it is read (a longer one is judged by its flags and length).
const LINE_KEEP: usize = 1024;

/// What a run of dropped lines held (see the module docs).
#[derive(Clone, Copy, Default)]
struct Kinds {
    any: bool,
    needs_encoding: bool,
    eight_bit: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the top-level header section.
    TopHeader,
    /// After a `--` line, up to the next empty line: kept.
    Kept,
    /// Anywhere else: lines are dropped unless they start with `--`.
    Plain,
    /// In the body of a detached signature part, up to a line that starts with `--`: kept.
    Signature,
}

/// A [`Skeleton`]'s result: the stand-in message and where its kept bytes are in the message.
#[derive(Debug)]
pub struct StandIn {
    /// The stand-in message.
    pub bytes: Vec<u8>,
    /// The length of the top-level header section (the same in the stand-in and the message).
    pub header_end: usize,
    /// The length of the message.
    pub total: usize,
    /// Runs of kept bytes: `(offset in the stand-in, offset in the message, length)`.
    kept: Vec<(usize, usize, usize)>,
}

impl StandIn {
    /// The message offset of stand-in offset `at`, when `at` is in a run of kept bytes or at
    /// its end (for an end: `at` is the end of a kept line; for a start: its start).
    #[must_use]
    pub fn original(&self, at: usize) -> Option<usize> {
        // The last run starting at or before `at`.
        let i = self
            .kept
            .partition_point(|&(s, _, _)| s <= at)
            .checked_sub(1)?;
        let &(s, o, len) = self.kept.get(i)?;
        (at - s <= len).then(|| o + (at - s))
    }
}

/// Is `line` (without its CRLF) one of the placeholder lines a run of dropped lines becomes?
#[must_use]
pub fn is_placeholder(line: &[u8]) -> bool {
    matches!(line, b"x" | b"x " | b"\x80")
}

/// The MIME structure of a message read in pieces (module docs).
pub struct Skeleton {
    out: Vec<u8>,
    /// The first [`LINE_KEEP`] bytes of the line being read, its length so far, its last
    /// three bytes, and whether it held 8-bit bytes or a NUL.
    line: Vec<u8>,
    line_len: usize,
    tail: [u8; 3],
    eight_bit: bool,
    nul: bool,
    /// The last byte read was a CR (it must be followed by an LF).
    pending_cr: bool,
    state: State,
    /// The kept block being read (a part's header section) names `pkcs7-signature`.
    signature_part: bool,
    run: Kinds,
    total: usize,
    /// Where the line being read starts in the message; the runs of kept bytes so far.
    line_start: usize,
    kept: Vec<(usize, usize, usize)>,
    /// The length of the top-level header section (the same here as in the message).
    header_end: Option<usize>,
    /// Given up on: not CRLF, or too large a stand-in.
    failed: bool,
}

/// Does a header line name `pkcs7-signature` (any case)?
fn contains_signature(line: &[u8]) -> bool {
    line.windows(15)
        .any(|w| w.eq_ignore_ascii_case(b"pkcs7-signature"))
}

impl core::fmt::Debug for Skeleton {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Skeleton")
            .field("total", &self.total)
            .field("kept", &self.out.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Default for Skeleton {
    fn default() -> Self {
        Self::new()
    }
}

impl Skeleton {
    /// Start reading a message.
    #[must_use]
    pub fn new() -> Self {
        Self {
            out: Vec::new(),
            line: Vec::new(),
            line_len: 0,
            tail: [0; 3],
            eight_bit: false,
            nul: false,
            pending_cr: false,
            state: State::TopHeader,
            signature_part: false,
            run: Kinds::default(),
            total: 0,
            line_start: 0,
            kept: Vec::new(),
            header_end: None,
            failed: false,
        }
    }

    /// Read the next piece of the message (pieces may cut lines anywhere). Returns `false` once
    /// the message is given up on (module docs): the caller need not feed more.
    pub fn feed(&mut self, piece: &[u8]) -> bool {
        if self.failed || !self.crlf(piece) {
            self.failed = true;
            return false;
        }
        // Most pieces hold no 8-bit byte and no NUL: then no line is asked about them.
        let clean = !super::has_8bit_or_nul(piece);
        let mut rest = piece;
        while !self.failed && !rest.is_empty() {
            let (segment, after) = match memchr::memchr(b'\n', rest) {
                Some(at) => rest.split_at(at + 1),
                None => (rest, &b""[..]),
            };
            self.take(segment, clean);
            self.total = self.total.saturating_add(segment.len());
            rest = after;
            if segment.last() == Some(&b'\n') {
                self.end_line(true);
                self.line_start = self.total;
            }
        }
        !self.failed
    }

    /// Are `piece`'s line ends CRLF, given the pieces before (a CR may end one piece and its
    /// LF start the next)?
    fn crlf(&mut self, piece: &[u8]) -> bool {
        let mut start = 0;
        if self.pending_cr {
            if piece.first().is_some_and(|&b| b != b'\n') {
                return false;
            }
            start = usize::from(!piece.is_empty());
        }
        let ends_cr = piece.len() > start && piece.last() == Some(&b'\r');
        let end = piece.len() - usize::from(ends_cr);
        if !super::is_crlf(piece.get(start..end).unwrap_or_default()) {
            return false;
        }
        if !piece.is_empty() {
            self.pending_cr = ends_cr;
        }
        true
    }

    /// Bytes read: the stand-in is for a message of this length.
    #[must_use]
    pub fn total(&self) -> usize {
        self.total
    }

    /// The stand-in for the message (every piece read); `None` when it was given up on.
    #[must_use]
    pub fn finish(mut self) -> Option<StandIn> {
        if self.pending_cr {
            return None; // the message ends in a bare CR
        }
        if !self.failed && self.line_len > 0 {
            self.end_line(false);
        }
        self.flush_run();
        let header_end = self.header_end.unwrap_or(self.out.len());
        (!self.failed).then_some(StandIn {
            bytes: self.out,
            header_end,
            total: self.total,
            kept: self.kept,
        })
    }

    /// Part of the line being read (an LF only at its end); `clean`: no 8-bit byte or NUL.
    fn take(&mut self, segment: &[u8], clean: bool) {
        // Enough of a dropped line to tell "From " and "--" at its start; a line that may be
        // kept, whole (up to LINE_KEEP).
        let first = self.line.first().or(segment.first()).copied();
        let limit = if self.state == State::Plain && first != Some(b'-') {
            5
        } else {
            LINE_KEEP
        };
        let keep = limit.saturating_sub(self.line.len()).min(segment.len());
        self.line
            .extend_from_slice(segment.get(..keep).unwrap_or_default());
        self.line_len = self.line_len.saturating_add(segment.len());
        for &b in segment.iter().rev().take(3).rev() {
            self.tail = [self.tail[1], self.tail[2], b];
        }
        if !clean {
            self.eight_bit |= segment.iter().any(|&b| b >= 0x80);
            self.nul |= memchr::memchr(0, segment).is_some();
        }
    }

    /// The line read so far is complete (`terminated`: by CRLF; else the message's end).
    fn end_line(&mut self, terminated: bool) {
        let len = core::mem::take(&mut self.line_len);
        let eight_bit = core::mem::take(&mut self.eight_bit);
        let nul = core::mem::take(&mut self.nul);
        let tail = core::mem::take(&mut self.tail);
        let whole = len <= LINE_KEEP && self.line.len() == len;
        let content_len = if terminated {
            len.saturating_sub(2)
        } else {
            len
        };
        let starts = |prefix: &[u8]| self.line.starts_with(prefix) && content_len >= prefix.len();
        let (dashes, from) = (starts(b"--"), starts(b"From "));
        // The last byte before the line end (known for any length: `tail`).
        let last = match (content_len, terminated) {
            (0, _) => None,
            (_, true) => Some(tail[0]),
            (_, false) => Some(tail[2]),
        };
        match self.state {
            State::TopHeader | State::Kept => {
                if whole {
                    self.push_line();
                } else {
                    self.failed = true;
                }
                if self.state == State::Kept && contains_signature(&self.line) {
                    self.signature_part = true;
                }
                if terminated && content_len == 0 {
                    if self.state == State::TopHeader {
                        self.header_end = Some(self.out.len());
                    }
                    self.state = if core::mem::take(&mut self.signature_part) {
                        State::Signature
                    } else {
                        State::Plain
                    };
                }
            }
            State::Plain | State::Signature if dashes => {
                if whole {
                    self.flush_run();
                    self.push_line();
                    self.state = State::Kept;
                } else {
                    // Could be a delimiter with long padding: not to be dropped.
                    self.failed = true;
                }
            }
            State::Signature => {
                if whole {
                    self.push_line();
                } else {
                    self.failed = true;
                }
            }
            State::Plain => {
                // As `mime::needs_encoding` judges a line (and its 8-bit and NUL bytes).
                let bad = content_len > 998 || matches!(last, Some(b' ' | b'\t')) || from || nul;
                self.run.any = true;
                self.run.needs_encoding |= bad;
                self.run.eight_bit |= eight_bit;
            }
        }
        self.line.clear();
    }

    /// The line read (whole) into the stand-in, and where it was in the message.
    fn push_line(&mut self) {
        if self.out.len().saturating_add(self.line.len()) > MAX_SKELETON {
            self.failed = true;
            return;
        }
        let (at, len) = (self.out.len(), self.line.len());
        match self.kept.last_mut() {
            Some((s, o, n)) if *s + *n == at && *o + *n == self.line_start => *n += len,
            _ => self.kept.push((at, self.line_start, len)),
        }
        self.out.extend_from_slice(&self.line);
    }

    /// The placeholder lines of the run of dropped lines that just ended.
    fn flush_run(&mut self) {
        let run = core::mem::take(&mut self.run);
        if !run.any {
            return;
        }
        if !run.needs_encoding && !run.eight_bit {
            self.push(b"x\r\n");
        }
        if run.needs_encoding {
            self.push(b"x \r\n");
        }
        if run.eight_bit {
            self.push(b"\x80\r\n");
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.out.len().saturating_add(bytes.len()) > MAX_SKELETON {
            self.failed = true;
            return;
        }
        self.out.extend_from_slice(bytes);
    }
}
