//! Rendering of SQL literals and identifiers for Snowflake.
//!
//! `snowflake-api` cannot send bind parameters, so every value travels inside the SQL text. This
//! module is the only place that turns a value into SQL; everything else goes through it.
//!
//! Rules (Snowflake's string-literal and identifier syntax):
//! - strings are single-quoted; `\` becomes `\\` and `'` becomes `\'` (Snowflake treats the backslash
//!   as an escape character inside `'...'`), control characters (newline, tab, carriage return, other
//!   C0 codes) become `\n`, `\t`, `\r` or `\x..` octal-free escapes so a statement stays one line;
//!   NUL is refused ([`SqlError::Nul`]), every other Unicode character is kept as is;
//! - finite floats use Rust's shortest round-trip form in exponent notation (`1.5e-1`), which
//!   Snowflake types as FLOAT (a plain `0.15` would be a NUMBER); NaN and ±infinity become
//!   `'NaN'::FLOAT`, `'inf'::FLOAT`, `'-inf'::FLOAT`;
//! - dates are `'YYYY-MM-DD'::DATE`, timestamps `'YYYY-MM-DD HH:MM:SS.fffffffff'::TIMESTAMP_NTZ` (UTC);
//! - `None` is `NULL`;
//! - identifiers made of `[A-Za-z_][A-Za-z0-9_$]*` are rendered as written (Snowflake resolves them
//!   upper-cased); any other identifier is double-quoted with `"` doubled. Empty identifiers and
//!   identifiers longer than 255 characters are refused.

use chrono::{DateTime, NaiveDate, Utc};

/// A value that cannot be rendered as SQL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The text contains a NUL character (refused: Snowflake text cannot round-trip it safely).
    #[error("{what} contains a NUL character")]
    Nul {
        /// What the text was (`string literal`, `identifier`).
        what: &'static str,
    },
    /// An identifier is empty or longer than Snowflake's 255 characters.
    #[error("identifier {0:?} is empty or longer than 255 characters")]
    BadIdentifier(String),
}

/// Longest identifier Snowflake accepts (characters).
pub const MAX_IDENTIFIER: usize = 255;

/// Renders a string literal: `'...'` with backslash, quote and control characters escaped.
///
/// # Errors
/// [`SqlError::Nul`] when the text contains `\0`.
pub fn string(text: &str) -> Result<String, SqlError> {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\0' => {
                return Err(SqlError::Nul {
                    what: "string literal",
                });
            }
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                // Snowflake's \ooo octal escape; three digits, always.
                out.push_str(&format!("\\{:03o}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// Renders an optional string: `NULL` for `None`.
///
/// # Errors
/// As [`string`].
pub fn opt_string(text: Option<&str>) -> Result<String, SqlError> {
    text.map_or_else(|| Ok("NULL".to_owned()), string)
}

/// Renders a FLOAT literal (exponent notation; NaN and ±inf as typed strings).
pub fn float(value: f64) -> String {
    if value.is_nan() {
        "'NaN'::FLOAT".to_owned()
    } else if value == f64::INFINITY {
        "'inf'::FLOAT".to_owned()
    } else if value == f64::NEG_INFINITY {
        "'-inf'::FLOAT".to_owned()
    } else {
        format!("{value:e}")
    }
}

/// Renders an optional FLOAT: `NULL` for `None`.
pub fn opt_float(value: Option<f64>) -> String {
    value.map_or_else(|| "NULL".to_owned(), float)
}

/// Renders an integer literal.
pub fn int(value: i64) -> String {
    value.to_string()
}

/// Renders an optional unsigned integer (`NULL` for `None`); values above `i64::MAX` saturate.
pub fn opt_uint(value: Option<u64>) -> String {
    value.map_or_else(
        || "NULL".to_owned(),
        |v| i64::try_from(v).unwrap_or(i64::MAX).to_string(),
    )
}

/// Renders a DATE literal: `'2013-02-01'::DATE`.
pub fn date(value: NaiveDate) -> String {
    format!("'{}'::DATE", value.format("%Y-%m-%d"))
}

/// Renders a TIMESTAMP_NTZ literal holding UTC wall time with nanoseconds.
pub fn timestamp(value: &DateTime<Utc>) -> String {
    format!(
        "'{}'::TIMESTAMP_NTZ",
        value.naive_utc().format("%Y-%m-%d %H:%M:%S%.9f")
    )
}

/// Renders an optional TIMESTAMP_NTZ: `NULL` for `None`.
pub fn opt_timestamp(value: Option<&DateTime<Utc>>) -> String {
    value.map_or_else(|| "NULL".to_owned(), timestamp)
}

/// Renders an identifier: bare when it is a plain name, double-quoted (with `"` doubled) otherwise.
///
/// # Errors
/// [`SqlError::BadIdentifier`] for empty or over-long names, [`SqlError::Nul`] for names with `\0`.
pub fn ident(name: &str) -> Result<String, SqlError> {
    if name.is_empty() || name.chars().count() > MAX_IDENTIFIER {
        return Err(SqlError::BadIdentifier(name.chars().take(64).collect()));
    }
    if name.contains('\0') {
        return Err(SqlError::Nul { what: "identifier" });
    }
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain {
        Ok(name.to_owned())
    } else {
        Ok(format!("\"{}\"", name.replace('"', "\"\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(string("plain").unwrap(), "'plain'");
        assert_eq!(string("").unwrap(), "''");
        assert_eq!(
            string("x'); DROP TABLE t;--").unwrap(),
            r"'x\'); DROP TABLE t;--'"
        );
        assert_eq!(string(r"\'").unwrap(), r"'\\\''");
        assert_eq!(string("a\nb\r\tc").unwrap(), r"'a\nb\r\tc'");
        assert_eq!(string("\u{1}\u{7f}").unwrap(), r"'\001\177'");
        assert_eq!(string("😀 é ß").unwrap(), "'😀 é ß'");
        assert_eq!(
            string("a\0b"),
            Err(SqlError::Nul {
                what: "string literal"
            })
        );
        assert_eq!(opt_string(None).unwrap(), "NULL");
    }

    #[test]
    fn a_rendered_string_never_leaves_its_quotes() {
        // Every quote inside is preceded by an odd number of backslashes.
        for text in ["'", "\\'", "\\\\'", "''", "'\\", "x'\\'y", "\\"] {
            let lit = string(text).unwrap();
            let inner: Vec<char> = lit[1..lit.len() - 1].chars().collect();
            let mut i = 0;
            while i < inner.len() {
                if inner[i] == '\\' {
                    i += 2;
                    continue;
                }
                assert_ne!(inner[i], '\'', "unescaped quote in {lit}");
                i += 1;
            }
            assert_eq!(i, inner.len(), "dangling backslash in {lit}");
        }
    }

    #[test]
    fn floats_are_exponent_form_and_special_values_typed() {
        assert_eq!(float(0.15), "1.5e-1");
        assert_eq!(float(0.0), "0e0");
        assert_eq!(float(-2.5e300), "-2.5e300");
        assert_eq!(float(f64::NAN), "'NaN'::FLOAT");
        assert_eq!(float(f64::INFINITY), "'inf'::FLOAT");
        assert_eq!(float(f64::NEG_INFINITY), "'-inf'::FLOAT");
        for v in [0.1, 1.0 / 3.0, f64::MIN_POSITIVE, f64::MAX, 5e-324] {
            assert_eq!(float(v).parse::<f64>().unwrap(), v);
        }
        assert_eq!(opt_float(None), "NULL");
    }

    #[test]
    fn dates_timestamps_and_integers() {
        let d = NaiveDate::from_ymd_opt(2013, 2, 1).unwrap();
        assert_eq!(date(d), "'2013-02-01'::DATE");
        let t = Utc.with_ymd_and_hms(2013, 2, 1, 6, 0, 5).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(
            timestamp(&t),
            "'2013-02-01 06:00:05.123456789'::TIMESTAMP_NTZ"
        );
        assert_eq!(opt_timestamp(None), "NULL");
        assert_eq!(int(-42), "-42");
        assert_eq!(opt_uint(Some(u64::MAX)), i64::MAX.to_string());
        assert_eq!(opt_uint(None), "NULL");
    }

    #[test]
    fn identifiers_are_bare_or_quoted() {
        assert_eq!(ident("PCI_CSI_RESULTS").unwrap(), "PCI_CSI_RESULTS");
        assert_eq!(ident("model_monitoring").unwrap(), "model_monitoring");
        assert_eq!(ident("my-db").unwrap(), "\"my-db\"");
        assert_eq!(ident("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(ident("1abc").unwrap(), "\"1abc\"");
        assert_eq!(
            ident("x\"; DROP TABLE t;--").unwrap(),
            "\"x\"\"; DROP TABLE t;--\""
        );
        assert!(ident("").is_err());
        assert!(ident(&"a".repeat(256)).is_err());
        assert!(ident("a\0").is_err());
    }
}
