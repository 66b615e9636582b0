//! The recognition vocabulary: what earns reputation and how much, the rule that keeps
//! self-dealing from paying, and the badges with their rules.
//!
//! Reputation comes from colleagues' acts on a person's content ([`Merit`]). One
//! colleague's acts are worth at most [`PAIR_CAP`] points to a person in any 30 days,
//! so a burst from one person is damped; when the two credit each other (a ring of
//! mutual likes), each act is worth half and the pair at most [`MUTUAL_PAIR_CAP`]. Your
//! own acts on your own content are worth nothing. Kudos from a manager are not peer
//! acts and are not capped.

use serde::{Deserialize, Serialize};

/// What earns reputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Merit {
    /// A colleague liked your video.
    LikeReceived,
    /// A colleague recommended your video or journey to others.
    Recommended,
    /// A colleague completed your video.
    CompletedByOther,
    /// Your answer to a question was accepted.
    AnswerAccepted,
    /// Kudos from your manager (or an admin).
    Kudos,
    /// You fulfilled a colleague's content request with a video.
    RequestFulfilled,
}

impl Merit {
    pub const ALL: [Self; 6] = [
        Self::LikeReceived,
        Self::Recommended,
        Self::CompletedByOther,
        Self::AnswerAccepted,
        Self::Kudos,
        Self::RequestFulfilled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LikeReceived => "like_received",
            Self::Recommended => "recommended",
            Self::CompletedByOther => "completed_by_other",
            Self::AnswerAccepted => "answer_accepted",
            Self::Kudos => "kudos",
            Self::RequestFulfilled => "request_fulfilled",
        }
    }

    /// The points it is worth before damping.
    pub const fn points(self) -> i32 {
        match self {
            Self::LikeReceived => 10,
            Self::Recommended => 15,
            Self::CompletedByOther => 5,
            Self::AnswerAccepted => 25,
            Self::Kudos => 50,
            Self::RequestFulfilled => 30,
        }
    }

    /// A colleague's act, damped per pair; kudos are a manager's, and are not.
    pub const fn is_peer(self) -> bool {
        !matches!(self, Self::Kudos)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}

/// Peer points one colleague may give one person in any 30 days.
pub const PAIR_CAP: i32 = 50;
/// The same, when the two credit each other.
pub const MUTUAL_PAIR_CAP: i32 = 20;

/// Who gave, to whom, and what the pair already exchanged in the last 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    pub self_dealing: bool,
    /// Peer points the giver already gave the receiver.
    pub given: i32,
    /// Whether the receiver gave the giver peer points too.
    pub mutual: bool,
}

/// The points `merit` is worth in `exchange`: nothing for your own, halved between two
/// people who credit each other, and never past the pair's cap.
pub fn credited(merit: Merit, exchange: Exchange) -> i32 {
    if exchange.self_dealing {
        return 0;
    }
    if !merit.is_peer() {
        return merit.points();
    }
    let (points, cap) = if exchange.mutual {
        (merit.points() / 2, MUTUAL_PAIR_CAP)
    } else {
        (merit.points(), PAIR_CAP)
    };
    points.min(cap - exchange.given.max(0)).max(0)
}

/// A badge, awarded once (per scope, for the monthly one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Badge {
    FirstVideo,
    TenLikes,
    HundredLearners,
    FirstAcceptedAnswer,
    /// The most reputation earned in a community in a calendar month.
    TopContributorOfTheMonth,
    /// Fulfilled a colleague's content request.
    RequestFulfiller,
}

impl Badge {
    pub const ALL: [Self; 6] = [
        Self::FirstVideo,
        Self::TenLikes,
        Self::HundredLearners,
        Self::FirstAcceptedAnswer,
        Self::TopContributorOfTheMonth,
        Self::RequestFulfiller,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FirstVideo => "first_video",
            Self::TenLikes => "ten_likes",
            Self::HundredLearners => "hundred_learners",
            Self::FirstAcceptedAnswer => "first_accepted_answer",
            Self::TopContributorOfTheMonth => "top_contributor_of_the_month",
            Self::RequestFulfiller => "request_fulfiller",
        }
    }

    /// Its rule, in words.
    pub const fn rule(self) -> &'static str {
        match self {
            Self::FirstVideo => "Published a first video",
            Self::TenLikes => "10 likes received from colleagues (each one that counted for reputation)",
            Self::HundredLearners => "100 colleagues completed your videos",
            Self::FirstAcceptedAnswer => "A first answer accepted",
            Self::TopContributorOfTheMonth => "The most reputation earned in a community in a month",
            Self::RequestFulfiller => "Fulfilled a colleague's content request with a video",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exchange(given: i32, mutual: bool) -> Exchange {
        Exchange {
            self_dealing: false,
            given,
            mutual,
        }
    }

    #[test]
    fn your_own_acts_are_worth_nothing() {
        for merit in Merit::ALL {
            let own = Exchange {
                self_dealing: true,
                given: 0,
                mutual: false,
            };
            assert_eq!(credited(merit, own), 0, "{merit:?}");
        }
    }

    #[test]
    fn a_pair_stops_paying_at_its_cap_and_a_mutual_one_sooner() {
        assert_eq!(credited(Merit::LikeReceived, exchange(0, false)), 10);
        assert_eq!(credited(Merit::LikeReceived, exchange(45, false)), 5);
        assert_eq!(credited(Merit::LikeReceived, exchange(50, false)), 0);
        assert_eq!(credited(Merit::LikeReceived, exchange(0, true)), 5);
        assert_eq!(credited(Merit::LikeReceived, exchange(20, true)), 0);
        assert_eq!(credited(Merit::Kudos, exchange(500, true)), 50);
    }

    proptest! {
        /// However many acts one colleague makes, their points to one person within a
        /// window never pass the cap.
        #[test]
        fn a_burst_never_passes_the_cap(acts in proptest::collection::vec(0usize..4, 0..200), mutual: bool) {
            let mut given = 0;
            for i in acts {
                let merit = [Merit::LikeReceived, Merit::Recommended, Merit::CompletedByOther, Merit::AnswerAccepted][i];
                let points = credited(merit, exchange(given, mutual));
                prop_assert!(points >= 0);
                given += points;
            }
            let cap = if mutual { MUTUAL_PAIR_CAP } else { PAIR_CAP };
            prop_assert!(given <= cap, "{} points given past the cap {}", given, cap);
        }
    }

    #[test]
    fn names_round_trip() {
        for merit in Merit::ALL {
            assert_eq!(Merit::parse(merit.as_str()), Some(merit));
        }
        for badge in Badge::ALL {
            assert_eq!(Badge::parse(badge.as_str()), Some(badge));
        }
    }
}
