//! The `q` and `skill` parameters that listings of journeys and content requests
//! share: checked once here, so both answer the same input the same way.

use skillreel_domain::{Tag, search_words};

use crate::ApiError;

/// Characters a `q` may have.
pub const MAX_Q: usize = 500;

/// What a listing's `q` and `skill` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terms {
    /// Search words (letters and digits only) and a skill, each when given.
    Match {
        words: Option<String>,
        skill: Option<String>,
    },
    /// A skill that is no valid tag: nothing carries it, the page is empty.
    Nothing,
}

/// `q` and `skill` as a listing takes them (400 when either is too long).
pub fn terms(q: Option<&str>, skill: Option<&str>) -> Result<Terms, ApiError> {
    if q.is_some_and(|q| q.chars().count() > MAX_Q) {
        return Err(ApiError::bad_request(format!("q is at most {MAX_Q} characters")));
    }
    if skill.is_some_and(|s| s.chars().count() > Tag::MAX) {
        return Err(ApiError::bad_request(format!(
            "skill is at most {} characters",
            Tag::MAX
        )));
    }
    let skill = match skill.map(Tag::parse) {
        Some(Ok(tag)) => Some(tag.as_str().to_owned()),
        Some(Err(_)) => return Ok(Terms::Nothing),
        None => None,
    };
    Ok(Terms::Match {
        words: q.and_then(search_words),
        skill,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_cleaned_and_a_skill_no_tag_matches_nothing() {
        assert_eq!(
            terms(Some("Rust: ownership!"), Some(" Rust ")).ok(),
            Some(Terms::Match {
                words: Some("rust ownership".into()),
                skill: Some("rust".into())
            })
        );
        assert_eq!(terms(None, Some("<script>")).ok(), Some(Terms::Nothing));
        assert!(terms(Some(&"x".repeat(501)), None).is_err());
        assert!(terms(None, Some(&"x".repeat(41))).is_err());
    }
}
