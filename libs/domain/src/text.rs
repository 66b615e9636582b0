//! Validated free text that people type: titles, descriptions, tags.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a piece of input was refused, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must not contain control characters")]
    ControlCharacters { field: &'static str },
    #[error("at most {max} tags are allowed")]
    TooManyTags { max: usize },
    #[error("tag `{0}` may only contain letters, digits, spaces, `-`, `_`, `+`, `#` and `.`")]
    BadTag(String),
    #[error("`{value}` is not a valid {field}")]
    Invalid { field: &'static str, value: String },
}

/// Trims, refuses control characters (except newlines and tabs where allowed) and
/// enforces a length in characters, not bytes.
fn clean(field: &'static str, raw: &str, max: usize, allow_newlines: bool) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > max {
        return Err(ValidationError::TooLong { field, max });
    }
    let bad = |c: char| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r'));
    if trimmed.chars().any(bad) {
        return Err(ValidationError::ControlCharacters { field });
    }
    Ok(trimmed.to_owned())
}

/// Free text that may span lines (a note, a reason): trimmed, at most `max`
/// characters, no control characters but newlines and tabs; empty when blank.
pub fn multiline_text(field: &'static str, raw: &str, max: usize) -> Result<String, ValidationError> {
    clean(field, raw, max, true)
}

/// A community's name: 1 to 80 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CommunityName(String);

impl CommunityName {
    pub const MAX: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = clean("name", raw, Self::MAX, false)?;
        if name.is_empty() {
            return Err(ValidationError::Empty { field: "name" });
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A video or journey title: 1 to 200 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Title(String);

impl Title {
    pub const MAX: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let title = clean("title", raw, Self::MAX, false)?;
        if title.is_empty() {
            return Err(ValidationError::Empty { field: "title" });
        }
        Ok(Self(title))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A description: up to 5000 characters, may span lines, may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    pub const MAX: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        clean("description", raw, Self::MAX, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A tag (a topic or skill): lowercase, 1 to 40 characters, a conservative alphabet
/// so tags are safe in URLs, filters and search.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub const MAX: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let tag = clean("tag", raw, Self::MAX, false)?.to_lowercase();
        if tag.is_empty() {
            return Err(ValidationError::Empty { field: "tag" });
        }
        let allowed = |c: char| c.is_alphanumeric() || " -_+#.".contains(c);
        if !tag.chars().all(allowed) {
            return Err(ValidationError::BadTag(tag));
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A set of tags, deduplicated, at most [`Tags::MAX`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub const MAX: usize = 20;

    /// Parses a comma-separated list; empty items are ignored.
    pub fn parse_csv(raw: &str) -> Result<Self, ValidationError> {
        Self::parse_all(raw.split(','))
    }

    pub fn parse_all<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, ValidationError> {
        let mut tags = Vec::new();
        for item in items {
            if item.trim().is_empty() {
                continue;
            }
            let tag = Tag::parse(item)?;
            if !tags.contains(&tag) {
                // Refused as soon as it is too many: `contains` never scans more than
                // `MAX` tags, however long the list a client sends.
                if tags.len() == Self::MAX {
                    return Err(ValidationError::TooManyTags { max: Self::MAX });
                }
                tags.push(tag);
            }
        }
        Ok(Self(tags))
    }

    /// Skills as a JSON request sends them: at most [`Tags::MAX`] (counted as sent,
    /// before duplicates are dropped), none blank.
    pub fn parse_skills(raw: &[TagText]) -> Result<Self, ValidationError> {
        if raw.len() > Self::MAX {
            return Err(ValidationError::TooManyTags { max: Self::MAX });
        }
        if raw.iter().any(|t| t.as_str().trim().is_empty()) {
            return Err(ValidationError::Empty { field: "skill" });
        }
        Self::parse_all(raw.iter().map(TagText::as_str))
    }

    pub fn as_strings(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A tag as an API request sends it: what [`Tag`] accepts, stated in the schema.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(pattern = "^\\s*[\\w+#.-]([\\w +#.-]{0,38}[\\w+#.-])?\\s*$")]
pub struct TagText(String);

impl TagText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Letters and digits of a search, lowercased, at most 8 words of 64 characters: all
/// `to_tsquery` ever sees, so no input can make the query fail.
pub fn search_words(raw: &str) -> Option<String> {
    let words: Vec<String> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| w.chars().take(64).collect::<String>().to_lowercase())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_title_is_trimmed_and_must_not_be_blank() {
        assert_eq!(
            Title::parse("  Git rebase in 3 minutes ").map(|t| t.into_inner()),
            Ok("Git rebase in 3 minutes".into())
        );
        assert_eq!(Title::parse("   "), Err(ValidationError::Empty { field: "title" }));
        assert!(Title::parse("two\nlines").is_err());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        assert!(Title::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn tags_are_lowercased_deduplicated_and_restricted() {
        let tags = Tags::parse_csv("Rust, rust,, C++ ,k8s").map(|t| t.as_strings());
        assert_eq!(tags, Ok(vec!["rust".into(), "c++".into(), "k8s".into()]));
        assert!(Tags::parse_csv("<script>").is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(
            Tags::parse_csv(&many.join(",")),
            Err(ValidationError::TooManyTags { max: 20 })
        );
    }

    proptest! {
        #[test]
        fn parsing_any_string_never_panics_and_accepted_values_are_clean(s in "\\PC*|.*") {
            if let Ok(t) = Title::parse(&s) {
                prop_assert!(!t.as_str().is_empty());
                prop_assert!(!t.as_str().chars().any(char::is_control));
                prop_assert!(t.as_str().chars().count() <= Title::MAX);
            }
            if let Ok(tags) = Tags::parse_csv(&s) {
                for t in tags.as_strings() {
                    prop_assert!(!t.contains(','));
                    prop_assert_eq!(t.to_lowercase(), t.clone());
                }
            }
            let _ = Description::parse(&s);
        }
    }
}
