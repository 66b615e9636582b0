//! What the recommendation lists answer: an item, why it is there, and (for a
//! colleague's recommendation) who recommended it and where it stands.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::peers::PeerState;

/// Someone named in a view.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PersonRef {
    pub id: Uuid,
    pub name: String,
}

/// "Ana", "Ana and Bob", "Ana and 2 others".
pub fn people_in_words(people: &[PersonRef]) -> String {
    match people {
        [] => "colleagues".into(),
        [one] => one.name.clone(),
        [one, two] => format!("{} and {}", one.name, two.name),
        [one, rest @ ..] => format!("{} and {} others", one.name, rest.len()),
    }
}

/// A video named in a reason.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VideoRef {
    pub id: Uuid,
    pub title: String,
}

/// What a recommendation is of.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    /// `journey` or `video`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(journey|video)$")]
    pub kind: &'static str,
    pub id: Uuid,
    pub title: String,
    /// Who made it (in "for you").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<PersonRef>,
}

/// Why an item is recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// Colleagues recommended it to you (`people`).
    RecommendedBy,
    /// Near a video you completed (`video`).
    BecauseYouCompleted,
    /// Near a video you liked (`video`).
    BecauseYouLiked,
    /// By someone you follow (`people`).
    NewFromFollowed,
    PopularInYourTeam,
    /// Popular among videos of one of your skills (`skill`).
    MatchesYourSkill,
    PopularInYourOrganisation,
    /// Published lately: a place kept to explore what is new.
    NewOnSkillreel,
}

/// One reason, in words and with what it names.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Reason {
    pub kind: ReasonKind,
    /// For people: "Because you completed “Ownership”", "Recommended by Ana and 2 others".
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
}

impl Reason {
    pub fn new(kind: ReasonKind, text: String) -> Self {
        Self {
            kind,
            text,
            people: Vec::new(),
            video: None,
            skill: None,
        }
    }

    pub fn people(mut self, people: Vec<PersonRef>) -> Self {
        self.people = people;
        self
    }

    pub fn video(mut self, video: VideoRef) -> Self {
        self.video = Some(video);
        self
    }

    pub fn skill(mut self, skill: String) -> Self {
        self.skill = Some(skill);
        self
    }
}

/// One colleague's recommendation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recommender {
    pub person: PersonRef,
    /// Their message (absent when they wrote none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub recommended_at: OffsetDateTime,
}

/// A recommended item and why; a colleague's recommendation also says who and where
/// it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendation {
    /// A colleague's recommendation: the most recent one of the item (what `PATCH`
    /// takes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub item: ItemView,
    /// Strongest first; never empty.
    pub reasons: Vec<Reason>,
    /// A colleague's recommendation: where it stands for you.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<PeerState>,
    /// A colleague's recommendation: who recommended it, newest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recommended_by: Vec<Recommender>,
    /// A colleague's recommendation: when it was last recommended to you.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub recommended_at: Option<OffsetDateTime>,
    /// "For you": the blended score the list is ordered by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_named_then_counted() {
        let person = |name: &str| PersonRef {
            id: Uuid::nil(),
            name: name.into(),
        };
        assert_eq!(people_in_words(&[person("Ana")]), "Ana");
        assert_eq!(people_in_words(&[person("Ana"), person("Bob")]), "Ana and Bob");
        assert_eq!(
            people_in_words(&[person("Ana"), person("Bob"), person("Cy")]),
            "Ana and 2 others"
        );
    }
}
