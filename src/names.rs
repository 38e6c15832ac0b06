//! What a name people give may hold (a feed's name, an admin's login), and how to print one.
//!
//! Names are shown in the settings page, in JSON and in `domofeed feed list` / `admin list` /
//! `account list` / `apikey list` on an operator's terminal. So they may not hold:
//!
//! - control characters (C0, DEL, C1: NUL, BEL, ESC, CR, LF …): ESC sequences rewrite a terminal,
//!   CR and LF forge lines, and PostgreSQL's `text` cannot hold NUL at all;
//! - bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069):
//!   they reorder what is shown around them ("Trojan Source"); a name has no use for them, marks
//!   included;
//! - the line and paragraph separators U+2028 and U+2029, which some programs treat as line ends.
//!
//! Zero-width joiners and non-joiners stay allowed: some scripts and emoji need them.
//!
//! Checked in one place per kind of name (`links::create` for feed names, `admin::admins` for
//! logins, `accounts` for account names, `apikeys::create` for key names), so the settings page, its API and the command line all refuse the same names with
//! a `400` that names the field. Names stored before these rules are escaped when printed
//! (`shown`).

use std::borrow::Cow;

use crate::{Error, Result};

/// The most characters a feed's name may have.
pub const MAX_FEED_NAME_CHARS: usize = 200;

/// Whether `c` may not appear in a name.
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `Ok` when `name` holds no forbidden character and at most `max_chars` characters; otherwise a
/// `400` naming `field`.
pub fn check(field: &str, name: &str, max_chars: usize) -> Result<()> {
    if let Some(c) = name.chars().find(|&c| is_forbidden(c)) {
        return Err(Error::bad_request(
            field,
            format!(
                "may not hold control or bidirectional formatting characters, found U+{:04X}",
                c as u32
            ),
        ));
    }
    let chars = name.chars().count();
    if chars > max_chars {
        return Err(Error::bad_request(
            field,
            format!("at most {max_chars} characters, got {chars}"),
        ));
    }
    Ok(())
}

/// `text` with every forbidden character written as `\u{…}`, for a terminal.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_forbidden) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_forbidden(c) {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_refused_and_escaped() {
        for bad in [
            "a\u{0}b",
            "bell\u{7}",
            "\u{1b}[2Jcleared",
            "two\r\nlines",
            "tab\there",
            "c1\u{85}",
            "rlo\u{202E}fdp.exe",
            "isolate\u{2066}x",
            "mark\u{200F}",
            "line\u{2028}sep",
        ] {
            let error = check("name", bad, 200).unwrap_err().to_string();
            assert!(error.starts_with("name: "), "{error}");
            assert!(!shown(bad).chars().any(is_forbidden), "{:?}", shown(bad));
        }
        assert_eq!(shown("\u{1b}[31mred"), "\\u{1b}[31mred");
        for good in [
            "Полный от сделок",
            "1С: фид №2 (ЖК «Север»)",
            "👩\u{200D}💻 feed",
        ] {
            check("name", good, 200).unwrap();
            assert_eq!(shown(good), good);
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        check("name", &"я".repeat(200), 200).unwrap();
        let error = check("name", &"я".repeat(201), 200).unwrap_err();
        assert!(error.to_string().contains("at most 200"), "{error}");
    }
}
