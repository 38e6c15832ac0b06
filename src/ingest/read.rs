//! Reading an item from its exact JSON text, field by field, collecting every problem with its
//! JSON path instead of stopping at the first (a 422 lists them all).
//!
//! Each level is parsed into a map of raw sub-texts (`serde_json::value::RawValue`), so a number
//! is kept as it was written (`8450000.00` stays `8450000.00`, never a float).

use std::{collections::BTreeMap, ops::RangeInclusive, sync::LazyLock};

use serde_json::value::RawValue;

/// One thing wrong with an item: where (a JSON path, e.g. `$.data[3].flat.params[1].value`) and
/// what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub path: String,
    pub text: String,
}

/// The problems found so far.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, path: &str, text: impl Into<String>) {
        self.0.push(Problem {
            path: path.to_owned(),
            text: text.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A JSON value at a path; `raw` is `None` where an object has no such member.
pub struct At<'a> {
    raw: Option<&'a RawValue>,
    pub path: String,
}

/// A JSON object: its members by name.
pub struct Obj<'a> {
    members: BTreeMap<&'a str, &'a RawValue>,
    path: String,
}

static NULL: LazyLock<&'static RawValue> = LazyLock::new(|| {
    serde_json::from_str::<&'static RawValue>("null").unwrap_or_else(|_| unreachable!())
});

impl<'a> At<'a> {
    /// The value `raw` at `path`.
    pub fn new(raw: &'a RawValue, path: impl Into<String>) -> At<'a> {
        At {
            raw: Some(raw),
            path: path.into(),
        }
    }

    /// The text of the value; a missing member is a problem.
    fn text(&self, problems: &mut Problems) -> Option<&'a str> {
        match self.raw {
            Some(raw) => Some(raw.get()),
            None => {
                problems.add(&self.path, "missing");
                None
            }
        }
    }

    /// Whether the value is null (a missing member is not: it is a problem of its own).
    pub fn is_null(&self) -> bool {
        self.raw.is_some_and(|raw| raw.get() == "null")
    }

    /// Whether the member is there at all.
    pub fn is_given(&self) -> bool {
        self.raw.is_some()
    }

    pub fn object(&self, problems: &mut Problems) -> Option<Obj<'a>> {
        let text = self.text(problems)?;
        match serde_json::from_str::<BTreeMap<&'a str, &'a RawValue>>(text) {
            Ok(members) => Some(Obj {
                members,
                path: self.path.clone(),
            }),
            Err(_) => {
                problems.add(
                    &self.path,
                    format!("expected an object, got {}", kind(text)),
                );
                None
            }
        }
    }

    /// An object or null.
    pub fn opt_object(&self, problems: &mut Problems) -> Option<Option<Obj<'a>>> {
        if self.is_null() {
            return Some(None);
        }
        self.object(problems).map(Some)
    }

    /// The elements, each at its path.
    pub fn array(&self, problems: &mut Problems) -> Option<Vec<At<'a>>> {
        let text = self.text(problems)?;
        match serde_json::from_str::<Vec<&'a RawValue>>(text) {
            Ok(items) => Some(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, raw)| At::new(raw, format!("{}[{i}]", self.path)))
                    .collect(),
            ),
            Err(_) => {
                problems.add(&self.path, format!("expected an array, got {}", kind(text)));
                None
            }
        }
    }

    pub fn string(&self, problems: &mut Problems) -> Option<String> {
        let text = self.text(problems)?;
        match serde_json::from_str::<String>(text) {
            Ok(value) if value.contains('\0') => {
                problems.add(&self.path, "a NUL character cannot be part of a text");
                None
            }
            Ok(value) if value.is_empty() => {
                problems.add(
                    &self.path,
                    "expected a text, got \"\" (write null for none)",
                );
                None
            }
            Ok(value) => Some(value),
            Err(_) => {
                problems.add(&self.path, format!("expected a string, got {}", kind(text)));
                None
            }
        }
    }

    /// A string or null.
    pub fn opt_string(&self, problems: &mut Problems) -> Option<Option<String>> {
        if self.is_null() {
            return Some(None);
        }
        self.string(problems).map(Some)
    }

    /// A whole number within `range`.
    pub fn int(&self, range: RangeInclusive<i64>, problems: &mut Problems) -> Option<i64> {
        let text = self.text(problems)?;
        match serde_json::from_str::<i64>(text) {
            Ok(n) if range.contains(&n) => Some(n),
            Ok(n) => {
                problems.add(
                    &self.path,
                    format!("expected {} to {}, got {n}", range.start(), range.end()),
                );
                None
            }
            Err(_) => {
                problems.add(
                    &self.path,
                    format!("expected a whole number, got {}", kind(text)),
                );
                None
            }
        }
    }

    pub fn opt_int(
        &self,
        range: RangeInclusive<i64>,
        problems: &mut Problems,
    ) -> Option<Option<i64>> {
        if self.is_null() {
            return Some(None);
        }
        self.int(range, problems).map(Some)
    }

    /// A positive id.
    pub fn id(&self, problems: &mut Problems) -> Option<i64> {
        self.int(1..=i64::MAX, problems)
    }

    /// A 0/1 flag (`true`/`false` are welcome too).
    pub fn flag(&self, problems: &mut Problems) -> Option<bool> {
        match self.text(problems)? {
            "0" | "false" => Some(false),
            "1" | "true" => Some(true),
            other => {
                problems.add(&self.path, format!("expected 0 or 1, got {}", kind(other)));
                None
            }
        }
    }

    /// A JSON number, as its exact text (`8450000.00`); NaN and infinities cannot be written.
    pub fn number(&self, problems: &mut Problems) -> Option<String> {
        let text = self.text(problems)?;
        let is_number = text
            .bytes()
            .next()
            .is_some_and(|b| b == b'-' || b.is_ascii_digit())
            && serde_json::from_str::<serde_json::Number>(text).is_ok();
        if is_number {
            Some(text.to_owned())
        } else {
            problems.add(&self.path, format!("expected a number, got {}", kind(text)));
            None
        }
    }

    pub fn opt_number(&self, problems: &mut Problems) -> Option<Option<String>> {
        if self.is_null() {
            return Some(None);
        }
        self.number(problems).map(Some)
    }
}

impl<'a> Obj<'a> {
    /// A member (missing: a problem when read, unless the reader allows it).
    pub fn field(&self, name: &str) -> At<'a> {
        At {
            raw: self.members.get(name).copied(),
            path: format!("{}.{name}", self.path),
        }
    }

    /// A member that may be left out: read as null then.
    pub fn field_or_null(&self, name: &str) -> At<'a> {
        At {
            raw: Some(self.members.get(name).copied().unwrap_or(*NULL)),
            path: format!("{}.{name}", self.path),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

/// What a value is, for a problem's text ("the string \"x\"", "an object", "null").
fn kind(text: &str) -> String {
    let shown = || {
        let head: String = text.chars().take(40).collect();
        if text.chars().count() > 40 {
            format!("{head}…")
        } else {
            head
        }
    };
    match text.as_bytes().first() {
        Some(b'"') => format!("the string {}", shown()),
        Some(b'{') => "an object".into(),
        Some(b'[') => "an array".into(),
        Some(b'n') => "null".into(),
        Some(b't' | b'f') => format!("the boolean {text}"),
        _ => shown(),
    }
}
