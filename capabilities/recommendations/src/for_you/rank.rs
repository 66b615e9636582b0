//! Ranking "for you": blends what each candidate has going for it into one score, keeps
//! any one author from taking the page, leaves room to explore new videos, and says why
//! in words. Pure: the candidates come from one statement ([`super::store`]).
//!
//! Choosing ([`choose`]) needs only ids and signals; explaining ([`explain`]) needs the
//! names the reasons quote, which the request loads for the chosen page alone.

use std::collections::HashMap;

use uuid::Uuid;

use crate::view::{PersonRef, Reason, ReasonKind, VideoRef, people_in_words};

/// A video the person completed or liked that a candidate is near.
#[derive(Debug, Clone, PartialEq)]
pub struct Because {
    pub video: VideoRef,
    pub completed: bool,
}

/// A candidate and its signals, each 0 when absent.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub video: VideoRef,
    pub author: PersonRef,
    /// Item-to-item similarity to the person's history, summed (recent history counts more).
    pub cf: f64,
    /// The history video that contributed most to `cf`.
    pub because: Option<Because>,
    /// Colleagues who recommended it to the person, newest first.
    pub peers: Vec<PersonRef>,
    /// By someone the person follows (one of their latest).
    pub followed: bool,
    /// Popularity among the person's team.
    pub team: f64,
    /// Popularity among videos of one of the person's skills, and that skill.
    pub skill: Option<(String, f64)>,
    /// Popularity in the organisation.
    pub org: f64,
    /// Published lately with few likes yet: a candidate for an exploration slot.
    pub fresh: bool,
}

/// A ranked video with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub video: VideoRef,
    pub author: PersonRef,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// How much each signal weighs once normalised to 0..1 (the largest among the
/// candidates is 1). Tuned on `bench/recommend`.
const CF: f64 = 1.0;
const PEER: f64 = 1.5;
const PEER_EACH_MORE: f64 = 0.25;
const FOLLOWED: f64 = 0.6;
const TEAM: f64 = 0.35;
const SKILL: f64 = 0.1;
const ORG: f64 = 0.05;
/// A signal worth less than this (after weighting) is not named as a reason.
const NAMED: f64 = 0.05;
/// Videos of one author among the first page's worth.
const PER_AUTHOR: usize = 2;

fn max_of(candidates: &[Candidate], f: impl Fn(&Candidate) -> f64) -> f64 {
    candidates.iter().map(f).fold(0.0, f64::max)
}

fn normalised(value: f64, max: f64) -> f64 {
    if max > 0.0 { value / max } else { 0.0 }
}

struct Maxima {
    cf: f64,
    team: f64,
    skill: f64,
    org: f64,
}

impl Maxima {
    fn of(candidates: &[Candidate]) -> Self {
        Maxima {
            cf: max_of(candidates, |c| c.cf),
            team: max_of(candidates, |c| c.team),
            skill: max_of(candidates, |c| c.skill.as_ref().map_or(0.0, |s| s.1)),
            org: max_of(candidates, |c| c.org),
        }
    }
}

/// A candidate's signals, each weighted (0 when absent): the score is their sum, and
/// the reasons name them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Weighted {
    cf: f64,
    peers: f64,
    followed: f64,
    team: f64,
    skill: f64,
    org: f64,
}

impl Weighted {
    fn of(c: &Candidate, max: &Maxima) -> Self {
        Weighted {
            // similarity counts with the history video it is named after
            cf: if c.because.is_some() {
                CF * normalised(c.cf, max.cf)
            } else {
                0.0
            },
            peers: if c.peers.is_empty() {
                0.0
            } else {
                PEER + PEER_EACH_MORE * (c.peers.len().min(5) - 1) as f64
            },
            followed: if c.followed { FOLLOWED } else { 0.0 },
            team: TEAM * normalised(c.team, max.team),
            skill: c
                .skill
                .as_ref()
                .map_or(0.0, |(_, value)| SKILL * normalised(*value, max.skill)),
            org: ORG * normalised(c.org, max.org),
        }
    }

    fn total(&self) -> f64 {
        // (a fold from 0.0, not `sum`, whose empty total is -0.0)
        [self.cf, self.peers, self.followed, self.team, self.skill, self.org]
            .into_iter()
            .filter(|w| *w > 0.0)
            .fold(0.0, |total, w| total + w)
    }
}

/// A candidate chosen for the page, with its score: what [`explain`] puts in words once
/// the names it quotes are known.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub candidate: Candidate,
    weighted: Weighted,
    /// Placed in an exploration slot ("New on Skillreel").
    explore: bool,
}

impl Chosen {
    pub fn score(&self) -> f64 {
        self.weighted.total()
    }
}

/// Names a chosen candidate's reasons, strongest first.
pub fn explain(chosen: Chosen) -> Ranked {
    let Chosen {
        candidate: c,
        weighted: w,
        explore,
    } = chosen;
    let mut parts: Vec<(f64, Reason)> = Vec::new();
    if let Some(because) = c.because.as_ref().filter(|_| w.cf > 0.0) {
        let (kind, verb) = if because.completed {
            (ReasonKind::BecauseYouCompleted, "completed")
        } else {
            (ReasonKind::BecauseYouLiked, "liked")
        };
        let text = format!("Because you {verb} “{}”", because.video.title);
        parts.push((w.cf, Reason::new(kind, text).video(because.video.clone())));
    }
    if w.peers > 0.0 {
        let text = format!("Recommended by {}", people_in_words(&c.peers));
        parts.push((
            w.peers,
            Reason::new(ReasonKind::RecommendedBy, text).people(c.peers.clone()),
        ));
    }
    if w.followed > 0.0 {
        let text = format!("New from {}, whom you follow", c.author.name);
        parts.push((
            w.followed,
            Reason::new(ReasonKind::NewFromFollowed, text).people(vec![c.author.clone()]),
        ));
    }
    if w.team > 0.0 {
        parts.push((
            w.team,
            Reason::new(ReasonKind::PopularInYourTeam, "Popular in your team".into()),
        ));
    }
    if let Some((skill, _)) = c.skill.as_ref().filter(|_| w.skill > 0.0) {
        let text = format!("Matches your skill {skill}");
        parts.push((
            w.skill,
            Reason::new(ReasonKind::MatchesYourSkill, text).skill(skill.clone()),
        ));
    }
    if w.org > 0.0 {
        let reason = Reason::new(
            ReasonKind::PopularInYourOrganisation,
            "Popular in your organisation".into(),
        );
        parts.push((w.org, reason));
    }
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let strongest = parts.first().map(|(w, _)| *w).unwrap_or_default();
    let mut reasons: Vec<Reason> = parts
        .into_iter()
        .filter(|(w, _)| *w >= NAMED || *w == strongest)
        .map(|(_, r)| r)
        .collect();
    if explore {
        reasons.insert(0, Reason::new(ReasonKind::NewOnSkillreel, "New on Skillreel".into()));
    }
    Ranked {
        score: w.total(),
        video: c.video,
        author: c.author,
        reasons,
    }
}

/// `candidates` best first, as [`choose`] would score them among themselves: the
/// order in which the request looks up their videos, a shortlist at a time.
pub fn by_score(candidates: Vec<Candidate>) -> Vec<Candidate> {
    scored(candidates).into_iter().map(|c| c.candidate).collect()
}

/// Whether [`choose`] can fill a page of `limit` from `candidates` without
/// [`PER_AUTHOR`]'s deferred places: then candidates scoring lower cannot change it.
pub fn fills(candidates: &[Candidate], limit: usize) -> bool {
    let max = Maxima::of(candidates);
    let mut per_author: HashMap<Uuid, usize> = HashMap::new();
    let placed = candidates
        .iter()
        .filter(|c| Weighted::of(c, &max).total() > 0.0)
        .filter(|c| {
            let count = per_author.entry(c.author.id).or_default();
            *count += 1;
            *count <= PER_AUTHOR
        })
        .count();
    placed >= limit
}

/// Each candidate with its weighted signals, best first (ties by id).
fn scored(candidates: Vec<Candidate>) -> Vec<Chosen> {
    let max = Maxima::of(&candidates);
    let mut scored: Vec<Chosen> = candidates
        .into_iter()
        .map(|c| Chosen {
            weighted: Weighted::of(&c, &max),
            candidate: c,
            explore: false,
        })
        .collect();
    scored.sort_by(|a, b| {
        b.score()
            .total_cmp(&a.score())
            .then_with(|| a.candidate.video.id.cmp(&b.candidate.video.id))
    });
    scored
}

/// The first `limit` videos for the person: by score, no more than [`PER_AUTHOR`] by one
/// author while others are left, and up to `exploration` of the last places given to
/// fresh videos not otherwise chosen ("New on Skillreel").
pub fn choose(candidates: Vec<Candidate>, limit: usize, exploration: usize) -> Vec<Chosen> {
    let (mut chosen, mut deferred, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_author: HashMap<Uuid, usize> = HashMap::new();
    for c in scored(candidates) {
        let is_fresh = c.candidate.fresh;
        if c.score() <= 0.0 {
            if is_fresh {
                fresh.push(c);
            }
            continue;
        }
        let count = per_author.entry(c.candidate.author.id).or_default();
        if chosen.len() < limit && *count < PER_AUTHOR {
            *count += 1;
            chosen.push(c);
        } else if is_fresh {
            fresh.push(c);
        } else {
            deferred.push(c);
        }
    }
    for c in deferred {
        if chosen.len() >= limit {
            break;
        }
        chosen.push(c);
    }
    let slots = exploration.min(limit / 5);
    for (i, mut new) in fresh.into_iter().take(slots).enumerate() {
        new.explore = true;
        let at = limit.saturating_sub(1 + i * 5);
        if chosen.len() > at {
            chosen[at] = new;
        } else {
            chosen.push(new);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`choose`], then [`explain`] each: the request's path, with the names at hand.
    fn rank(candidates: Vec<Candidate>, limit: usize, exploration: usize) -> Vec<Ranked> {
        choose(candidates, limit, exploration)
            .into_iter()
            .map(explain)
            .collect()
    }

    /// A stable id for a name (distinct names here give distinct ids).
    fn id_of(name: &str) -> Uuid {
        let mut bytes = [0u8; 16];
        for (i, b) in name.bytes().enumerate() {
            bytes[i % 16] ^= b.rotate_left(u32::try_from(i / 16).unwrap_or(0));
        }
        Uuid::from_bytes(bytes)
    }

    fn person(name: &str) -> PersonRef {
        PersonRef {
            id: id_of(&format!("person {name}")),
            name: name.into(),
        }
    }

    fn video(title: &str) -> VideoRef {
        VideoRef {
            id: id_of(&format!("video {title}")),
            title: title.into(),
        }
    }

    fn candidate(title: &str, author: &str) -> Candidate {
        Candidate {
            video: video(title),
            author: person(author),
            cf: 0.0,
            because: None,
            peers: Vec::new(),
            followed: false,
            team: 0.0,
            skill: None,
            org: 0.0,
            fresh: false,
        }
    }

    fn titles(ranked: &[Ranked]) -> Vec<&str> {
        ranked.iter().map(|r| r.video.title.as_str()).collect()
    }

    #[test]
    fn by_score_orders_as_choose_does() {
        let mut team = candidate("Team pick", "ana");
        team.team = 1.0;
        let mut org = candidate("Org pick", "bob");
        org.org = 1.0;
        let mut peer = candidate("Peer pick", "cy");
        peer.peers = vec![person("Dee")];
        let nothing = candidate("Nothing", "dee");
        let ordered = by_score(vec![org.clone(), nothing.clone(), team.clone(), peer.clone()]);
        let titles: Vec<&str> = ordered.iter().map(|c| c.video.title.as_str()).collect();
        assert_eq!(titles, ["Peer pick", "Team pick", "Org pick", "Nothing"]);
        let chosen = rank(vec![org, nothing, team, peer], 4, 0);
        assert_eq!(self::titles(&chosen), ["Peer pick", "Team pick", "Org pick"]);
    }

    #[test]
    fn a_page_is_filled_only_by_enough_scoring_candidates_of_enough_authors() {
        let scoring = |title: &str, author: &str| {
            let mut c = candidate(title, author);
            c.org = 1.0;
            c
        };
        // three by one author fill two places, not three; another author's fills the third
        let one_author = vec![scoring("A", "ana"), scoring("B", "ana"), scoring("C", "ana")];
        assert!(fills(&one_author, 2));
        assert!(!fills(&one_author, 3));
        let mut two_authors = one_author.clone();
        two_authors.push(scoring("D", "bob"));
        assert!(fills(&two_authors, 3));
        // a candidate with no signal is never placed
        let mut unscored = one_author;
        unscored.push(candidate("E", "cy"));
        assert!(!fills(&unscored, 3));
        assert!(!fills(&[], 1));
    }

    #[test]
    fn each_signal_names_its_reason_and_the_strongest_comes_first() {
        let mut near = candidate("Lifetimes", "ana");
        near.cf = 2.0;
        near.because = Some(Because {
            video: video("Ownership"),
            completed: true,
        });
        near.org = 1.0;
        let mut peer = candidate("Tracing", "bob");
        peer.peers = vec![person("Ana"), person("Cy"), person("Dee")];
        let ranked = rank(vec![near, peer], 10, 0);
        assert_eq!(titles(&ranked), ["Tracing", "Lifetimes"]);
        assert_eq!(ranked[0].reasons[0].text, "Recommended by Ana and 2 others");
        assert_eq!(ranked[1].reasons[0].text, "Because you completed “Ownership”");
        assert_eq!(
            ranked[1].reasons[0].video.as_ref().map(|v| v.title.as_str()),
            Some("Ownership")
        );
        assert_eq!(ranked[1].reasons[1].text, "Popular in your organisation");
    }

    #[test]
    fn no_author_takes_more_than_two_places_while_others_wait() {
        let mut candidates = Vec::new();
        for i in 0..5 {
            let mut c = candidate(&format!("Ana {i}"), "ana");
            c.org = 10.0 - f64::from(i);
            candidates.push(c);
        }
        let mut other = candidate("Bob 0", "bob");
        other.org = 1.0;
        let ranked = rank(candidates, 4, 0);
        assert_eq!(
            titles(&ranked),
            ["Ana 0", "Ana 1", "Ana 2", "Ana 3"],
            "alone, ana fills the page"
        );
        let mut candidates: Vec<Candidate> = (0..5)
            .map(|i| {
                let mut c = candidate(&format!("Ana {i}"), "ana");
                c.org = 10.0 - f64::from(i);
                c
            })
            .collect();
        candidates.push(other);
        let ranked = rank(candidates, 4, 0);
        assert_eq!(titles(&ranked), ["Ana 0", "Ana 1", "Bob 0", "Ana 2"]);
    }

    #[test]
    fn a_fresh_video_gets_an_exploration_slot() {
        let mut candidates: Vec<Candidate> = (0..12)
            .map(|i| {
                let mut c = candidate(&format!("Old {i}"), &format!("author {i}"));
                c.org = 20.0 - f64::from(i);
                c
            })
            .collect();
        let mut new = candidate("Brand new", "newcomer");
        new.fresh = true;
        candidates.push(new);
        let ranked = rank(candidates.clone(), 10, 1);
        assert_eq!(ranked.len(), 10);
        assert_eq!(ranked[9].video.title, "Brand new");
        assert_eq!(ranked[9].reasons[0].kind, ReasonKind::NewOnSkillreel);
        let without = rank(candidates, 10, 0);
        assert!(!titles(&without).contains(&"Brand new"));
    }

    #[test]
    fn nothing_to_go_on_means_nothing_shown() {
        assert!(rank(vec![candidate("Unknown", "x")], 10, 1).is_empty());
    }
}
