//! The catalog's vocabulary: who may see a published video, how a community publishes,
//! which language a video speaks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Who may find and watch a published video.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone in the organisation, in listings and search.
    #[default]
    Org,
    /// The members of its community.
    Community,
    /// Anyone with the link; never listed.
    Unlisted,
    /// Everyone in the organisation, like `org`, and the partner instances that follow
    /// this one (see `docs/FEDERATION.md`).
    Federated,
}

/// How a community's videos get published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalPolicy {
    /// Published at once: the default, no barrier.
    #[default]
    None,
    /// A moderator of the community approves.
    Moderator,
    /// The author's manager approves.
    Manager,
}

macro_rules! keyword_enum {
    ($ty:ident, $err:literal, $($variant:ident => $name:literal),+) => {
        impl $ty {
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }

        impl FromStr for $ty {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    other => Err(ValidationError::Invalid { field: $err, value: other.chars().take(40).collect() }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(Visibility, "visibility", Org => "org", Community => "community", Unlisted => "unlisted", Federated => "federated");
keyword_enum!(ApprovalPolicy, "approval_policy", None => "none", Moderator => "moderator", Manager => "manager");

/// A video's spoken language as a lowercase ISO 639-1 code (`en`, `de`); it picks the
/// stemming used by search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let code = raw.trim().to_ascii_lowercase();
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(code))
        } else {
            Err(ValidationError::Invalid {
                field: "language",
                value: raw.chars().take(40).collect(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Language {
    fn default() -> Self {
        Self("en".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_parse_and_print_the_same() {
        for v in [Visibility::Org, Visibility::Community, Visibility::Unlisted] {
            assert_eq!(v.as_str().parse::<Visibility>().ok(), Some(v));
        }
        assert_eq!("manager".parse::<ApprovalPolicy>().ok(), Some(ApprovalPolicy::Manager));
        assert!("public".parse::<Visibility>().is_err());
    }

    #[test]
    fn languages_are_two_letter_codes() {
        assert_eq!(
            Language::parse(" DE ").map(|l| l.as_str().to_owned()).ok(),
            Some("de".into())
        );
        assert!(Language::parse("english").is_err());
        assert!(Language::parse("e1").is_err());
    }
}
