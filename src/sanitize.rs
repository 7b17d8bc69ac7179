//! Text from data (file headers, cells, stored errors, paths, configuration values) on its way to
//! a terminal, a log line, a stored error or a notification: control characters escaped, length
//! bounded, secret-looking values withheld (issue 11, findings 10 and 13).
//!
//! One helper for every message: [`escape_controls`] for one-line text, [`escape_terminal_text`]
//! for whole multi-line reports, [`excerpt`] for a bounded quote, [`quote_value`] for a value that
//! may be a secret.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters quoted by [`excerpt`]'s callers by default (error messages quote short excerpts).
pub const EXCERPT_CHARS: usize = 80;

/// Whether `c` must not reach a terminal as it is: C0 controls, DEL, C1 controls, and the Unicode
/// bidirectional overrides and isolates (which reorder what a reader sees).
fn is_hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `s` with every control character (newlines included), DEL, C1 control and bidi override
/// written as an escape (`\n`, `\u{1b}`), so one message stays one line and cannot drive the
/// terminal. Borrowed when nothing needed escaping.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hostile(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A multi-line report for a terminal: newlines and tabs kept, colour sequences
/// (`ESC [ digits ; … m`, as color-eyre writes them) kept, every other control character escaped.
pub fn escape_terminal_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_hostile(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if c == '\n' || c == '\t' || !is_hostile(c) {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Length of a colour (SGR) sequence at the start of `s`, if one is there.
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\u{1b}[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// At most `max_chars` characters of `s`, controls escaped, `…` appended when cut. For quoting
/// data (a header, a cell, a stored error) in a message.
pub fn excerpt(s: &str, max_chars: usize) -> String {
    let escaped = escape_controls(s);
    let mut out: String = escaped.chars().take(max_chars).collect();
    if escaped.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// Whether `s` looks like a secret rather than a name: a URL (`scheme://…`, where a webhook URL
/// carries its token), `user:password@host`, `password=`/`token=`/`secret=`/`key=` pairs, an
/// `Authorization`-style bearer value, or a long run (≥ 32) of token characters.
pub fn looks_secret(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if lower.contains("://") || lower.contains("bearer ") {
        return true;
    }
    if let Some(at) = s.find('@')
        && s[..at].contains(':')
    {
        return true;
    }
    for key in [
        "password", "passwd", "pwd", "token", "secret", "api_key", "apikey", "key", "sig",
    ] {
        for sep in ["=", ":"] {
            if lower.contains(&format!("{key}{sep}")) {
                return true;
            }
        }
    }
    let mut run = 0usize;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '=') {
            run += 1;
            if run >= 32 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// A value for an error message: a short [`excerpt`] in quotes, or, when it
/// [`looks_secret`], only its length (`<withheld: 83 characters that look like a secret>`).
pub fn quote_value(s: &str) -> String {
    if looks_secret(s) {
        format!(
            "<withheld: {} characters that look like a secret>",
            s.chars().count()
        )
    } else {
        format!("\"{}\"", excerpt(s, EXCERPT_CHARS))
    }
}

/// Names (e.g. a file's columns) for a message: at most `max_items`, each a short excerpt, secret-
/// looking ones withheld, followed by `… (N more)`.
pub fn list_excerpt(items: &[String], max_items: usize) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .take(max_items)
        .map(|i| {
            if looks_secret(i) {
                "<withheld>".to_string()
            } else {
                excerpt(i, 40)
            }
        })
        .collect();
    if items.len() > max_items {
        parts.push(format!("… ({} more)", items.len() - max_items));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_borrowed() {
        assert!(matches!(escape_controls("jfk_delay"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("a\u{1b}]2;x\u{7}b\nc\u{9b}\u{202e}"),
            "a\\u{1b}]2;x\\u{7}b\\nc\\u{9b}\\u{202e}"
        );
    }

    #[test]
    fn terminal_text_keeps_newlines_and_colours_only() {
        let s = "\u{1b}[31mError\u{1b}[0m: x\n  \u{1b}[2J\u{1b}]2;t\u{7}";
        assert_eq!(
            escape_terminal_text(s),
            "\u{1b}[31mError\u{1b}[0m: x\n  \\u{1b}[2J\\u{1b}]2;t\\u{7}"
        );
    }

    #[test]
    fn excerpts_are_bounded() {
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(excerpt(&"x".repeat(10_000), 80).chars().count(), 81);
    }

    #[test]
    fn secret_looking_values_are_withheld() {
        for s in [
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "postgres://user:hunter2@db/x",
            "admin:hunter2@host",
            "password=hunter2",
            "Bearer abc",
            "AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENG",
        ] {
            assert!(looks_secret(s), "{s}");
            assert!(!quote_value(s).contains("hunter2"));
        }
        for s in ["SLACK_WEBHOOK", "dep_delay", "carrier", "root:x:0:0"] {
            assert!(!looks_secret(s), "{s}");
        }
    }
}
