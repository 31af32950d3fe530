//! Time as an input: the core never reads a clock.

use der::asn1::{GeneralizedTime, UtcTime};
use der::DateTime;

use crate::error::{Error, Result};

/// Seconds since the Unix epoch (UTC). The caller supplies it; the core has no clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// From milliseconds since the epoch, as JavaScript's `Date.now()` gives them.
    #[must_use]
    pub fn from_millis(ms: f64) -> Self {
        if ms.is_finite() && ms > 0.0 {
            // f64 → u64 saturates; sub-second precision is dropped on purpose.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let secs = (ms / 1000.0) as u64;
            Self(secs)
        } else {
            Self(0)
        }
    }

    /// Parse an RFC 3339 timestamp such as `2026-02-01T00:00:00Z` or `2026-02-01T01:00:00+01:00`.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] when the text is not an RFC 3339 date-time.
    pub fn parse_rfc3339(text: &str) -> Result<Self> {
        let bad = || Error::misuse(alloc::format!("not an RFC 3339 time: {text:?}"));
        let b = text.trim().as_bytes();
        let num = |r: core::ops::Range<usize>| -> Result<u64> {
            let s = b.get(r).ok_or_else(bad)?;
            if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            core::str::from_utf8(s)
                .map_err(|_| bad())?
                .parse()
                .map_err(|_| bad())
        };
        let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
        if b.len() < 20
            || !sep(4, b"-")
            || !sep(7, b"-")
            || !sep(10, b"Tt ")
            || !sep(13, b":")
            || !sep(16, b":")
        {
            return Err(bad());
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        let offset: i64 = match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i + 1 => 0,
            Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && sep(i + 3, b":") => {
                let h = i64::try_from(num(i + 1..i + 3)?).map_err(|_| bad())?;
                let m = i64::try_from(num(i + 4..i + 6)?).map_err(|_| bad())?;
                let o = h * 3600 + m * 60;
                if *sign == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return Err(bad()),
        };
        let to16 = |v: u64| u16::try_from(v).map_err(|_| bad());
        let to8 = |v: u64| u8::try_from(v).map_err(|_| bad());
        let dt = DateTime::new(
            to16(year)?,
            to8(month)?,
            to8(day)?,
            to8(hour)?,
            to8(minute)?,
            to8(second)?,
        )
        .map_err(|_| bad())?;
        let secs = i64::try_from(dt.unix_duration().as_secs()).map_err(|_| bad())? - offset;
        Ok(Self(u64::try_from(secs).map_err(|_| bad())?))
    }

    /// From an X.509/CMS `Time`.
    #[must_use]
    pub fn from_x509(t: &x509_cert::time::Time) -> Self {
        Self(t.to_unix_duration().as_secs())
    }

    /// As a DER `Time` (UTCTime before 2050, GeneralizedTime after, as RFC 5280 §4.1.2.5 says).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] for a time DER cannot represent (before 1970 or after 9999).
    pub fn to_x509(self) -> Result<x509_cert::time::Time> {
        let dur = core::time::Duration::from_secs(self.0);
        let dt =
            DateTime::from_unix_duration(dur).map_err(|_| Error::misuse("time out of range"))?;
        if dt.year() < 2050 {
            Ok(x509_cert::time::Time::UtcTime(
                UtcTime::from_date_time(dt).map_err(|_| Error::misuse("time out of range"))?,
            ))
        } else {
            Ok(x509_cert::time::Time::GeneralTime(
                GeneralizedTime::from_date_time(dt),
            ))
        }
    }

    /// RFC 3339 text in UTC, e.g. `2026-02-01T00:00:00Z`.
    #[must_use]
    pub fn to_rfc3339(self) -> alloc::string::String {
        match DateTime::from_unix_duration(core::time::Duration::from_secs(self.0)) {
            Ok(dt) => alloc::format!("{dt}"),
            Err(_) => alloc::string::String::from("invalid time"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(
            UnixTime::parse_rfc3339("1970-01-01T00:00:00Z").unwrap(),
            UnixTime(0)
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2026-02-01T00:00:00Z").unwrap(),
            UnixTime(1_769_904_000)
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2026-02-01T01:00:00.123+01:00").unwrap(),
            UnixTime(1_769_904_000)
        );
        for bad in [
            "",
            "2026-02-01",
            "2026-13-01T00:00:00Z",
            "2026-02-01T00:00:00",
            "x".repeat(30).as_str(),
        ] {
            assert_eq!(
                UnixTime::parse_rfc3339(bad).unwrap_err().code(),
                "API_MISUSE"
            );
        }
        assert_eq!(UnixTime(1_769_904_000).to_rfc3339(), "2026-02-01T00:00:00Z");
    }
}
