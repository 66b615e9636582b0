//! Ranking "for you": blends what each candidate has going for it into one score, keeps
//! any one author from taking the page, leaves room to explore new videos, and says why
//! in words. Pure: the candidates come from one statement ([`super::store`]).
//!
//! Choosing ([`choose`]) needs only ids and signals; explaining ([`explain`]) needs the
//! names the reasons quote, which the request loads for the chosen page alone. Which
//! candidates' videos the request looks up, and when it can stop, is [`Shortlists`].

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

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

/// Candidates whose videos one statement looks up: a page's worth several times over,
/// so that the access policy and one author's cap rarely need a second.
pub const SHORTLIST: usize = 40;

/// The order in which a request looks up the candidates' videos, a shortlist at a
/// time, best first by their signals normalised among every candidate gathered (the
/// fresh ones, for the exploration places, all in the first), and when it may stop:
/// once the candidates within reach ranked ahead of the next one fill the page, every
/// candidate [`choose`] would place, so ranked, has been looked up. The page is then
/// chosen among those the person may see, normalised among them (what they cannot
/// see weighs nothing).
#[derive(Debug)]
pub struct Shortlists {
    fresh: Vec<Chosen>,
    rest: VecDeque<Chosen>,
    started: bool,
}

impl Shortlists {
    pub fn new(candidates: Vec<Candidate>) -> Self {
        let (fresh, rest): (Vec<Chosen>, Vec<Chosen>) = scored(candidates).into_iter().partition(|c| c.candidate.fresh);
        Shortlists {
            fresh,
            rest: rest.into(),
            started: false,
        }
    }

    /// The next candidates to look up, given those `visible` so far; none when the page
    /// of `limit` is settled or every candidate has been looked up.
    pub fn next(&mut self, visible: &[Chosen], limit: usize) -> Vec<Chosen> {
        if self.started && fills(visible, self.rest.front(), limit) {
            return Vec::new();
        }
        self.started = true;
        let mut batch = std::mem::take(&mut self.fresh);
        let more = self.rest.len().min(SHORTLIST.saturating_sub(batch.len()).max(limit));
        batch.extend(self.rest.drain(..more));
        batch
    }
}

/// Whether [`choose`] over `visible` fills its page of `limit` from the candidates
/// ranked ahead of `next` (the best one not looked up yet), without [`PER_AUTHOR`]'s
/// deferred places: then neither `next` nor any after it can change the page.
fn fills(visible: &[Chosen], next: Option<&Chosen>, limit: usize) -> bool {
    let mut per_author: HashMap<Uuid, usize> = HashMap::new();
    let placed = visible
        .iter()
        .filter(|c| c.score() > 0.0 && next.is_none_or(|n| ahead(c, n) == Ordering::Less))
        .filter(|c| {
            let count = per_author.entry(c.candidate.author.id).or_default();
            *count += 1;
            *count <= PER_AUTHOR
        })
        .count();
    placed >= limit
}

/// Best first, ties by id.
fn ahead(a: &Chosen, b: &Chosen) -> Ordering {
    b.score()
        .total_cmp(&a.score())
        .then_with(|| a.candidate.video.id.cmp(&b.candidate.video.id))
}

/// Each candidate with its weighted signals, normalised among them, best first.
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
    scored.sort_by(ahead);
    scored
}

/// The first `limit` videos for the person: by score, no more than [`PER_AUTHOR`] by one
/// author while others are left, and up to `exploration` of the last places given to
/// fresh videos not otherwise chosen ("New on Skillreel").
pub fn choose(candidates: Vec<Candidate>, limit: usize, exploration: usize) -> Vec<Chosen> {
    place(scored(candidates), limit, exploration)
}

/// [`choose`] on candidates already scored, best first.
fn place(scored: Vec<Chosen>, limit: usize, exploration: usize) -> Vec<Chosen> {
    let (mut chosen, mut deferred, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_author: HashMap<Uuid, usize> = HashMap::new();
    for c in scored {
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
    use std::collections::HashSet;

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

    fn scoring(title: &str, author: &str, org: f64) -> Candidate {
        let mut c = candidate(title, author);
        c.org = org;
        c
    }

    #[test]
    fn a_page_is_filled_only_by_enough_scoring_candidates_of_enough_authors() {
        // three by one author fill two places, not three; another author's fills the third
        let one_author = vec![
            scoring("A", "ana", 1.0),
            scoring("B", "ana", 1.0),
            scoring("C", "ana", 1.0),
        ];
        assert!(fills(&scored(one_author.clone()), None, 2));
        assert!(!fills(&scored(one_author.clone()), None, 3));
        let mut two_authors = one_author.clone();
        two_authors.push(scoring("D", "bob", 1.0));
        assert!(fills(&scored(two_authors), None, 3));
        // a candidate with no signal is never placed
        let mut unscored = one_author;
        unscored.push(candidate("E", "cy"));
        assert!(!fills(&scored(unscored), None, 3));
        assert!(!fills(&[], None, 1));
    }

    /// The shortlists' lookups, with `seen` standing for the access policy.
    fn looked_up(candidates: Vec<Candidate>, seen: &HashSet<Uuid>, limit: usize) -> (Vec<Chosen>, usize) {
        let mut shortlists = Shortlists::new(candidates);
        let (mut visible, mut lookups) = (Vec::new(), 0);
        loop {
            let batch = shortlists.next(&visible, limit);
            if batch.is_empty() {
                return (visible, lookups);
            }
            lookups += 1;
            visible.extend(batch.into_iter().filter(|c| seen.contains(&c.candidate.video.id)));
        }
    }

    #[test]
    fn the_lookups_stop_once_the_page_is_settled() {
        let candidates: Vec<Candidate> = (0..100)
            .map(|i| scoring(&format!("V{i}"), &format!("author {}", i % 50), f64::from(100 - i)))
            .collect();
        let seen: HashSet<Uuid> = candidates.iter().map(|c| c.video.id).collect();
        let (visible, lookups) = looked_up(candidates, &seen, 10);
        assert_eq!((visible.len(), lookups), (SHORTLIST, 1));
    }

    #[test]
    fn weak_fresh_videos_do_not_settle_the_page_before_stronger_ones_are_looked_up() {
        // 20 fresh videos with a little organisation popularity, looked up first with the
        // 20 best, of which 3 are within reach; the next 60 all are, and score higher
        let mut candidates = Vec::new();
        let mut seen = HashSet::new();
        for i in 0..20 {
            let mut c = scoring(&format!("Fresh {i}"), &format!("fresh {i}"), 1.0);
            c.fresh = true;
            seen.insert(c.video.id);
            candidates.push(c);
        }
        for i in 0..80 {
            let c = scoring(&format!("Ranked {i}"), &format!("ranked {i}"), f64::from(200 - i));
            if i % 8 == 0 || i >= 20 {
                seen.insert(c.video.id);
            }
            candidates.push(c);
        }
        let every = candidates
            .iter()
            .filter(|c| seen.contains(&c.video.id))
            .cloned()
            .collect();
        let (visible, lookups) = looked_up(candidates, &seen, 20);
        assert!(lookups > 1);
        let page = choose(visible.into_iter().map(|c| c.candidate).collect(), 20, 0);
        assert!(page.iter().all(|c| !c.candidate.fresh), "{page:?}");
        assert_eq!(page, choose(every, 20, 0));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        #[test]
        fn the_shortlists_look_up_every_visible_candidate_the_ranking_would_place(
            rows in proptest::collection::vec(
                (0u8..6, 0u8..4, 0u8..4, 0u8..4, 0u8..4, proptest::bool::weighted(0.2), 0usize..3, proptest::bool::weighted(0.4)),
                0..150,
            ),
            limit in 1usize..25,
            exploration in 0usize..3,
        ) {
            let mut candidates = Vec::new();
            let mut seen = HashSet::new();
            for (i, (author, cf, team, skill, org, fresh, peers, visible)) in rows.into_iter().enumerate() {
                let mut c = candidate(&format!("V{i}"), &format!("author {author}"));
                c.video.id = Uuid::from_u128(i as u128 + 1);
                c.cf = f64::from(cf);
                c.because = (cf > 0).then(|| Because { video: video("Seen"), completed: false });
                c.team = f64::from(team);
                c.skill = (skill > 0).then(|| ("rust".to_owned(), f64::from(skill)));
                c.org = f64::from(org);
                c.fresh = fresh;
                c.peers = (0..peers).map(|p| person(&format!("peer {p}"))).collect();
                if visible {
                    seen.insert(c.video.id);
                }
                candidates.push(c);
            }
            // ranked as the lookups rank them, among every candidate
            let every = scored(candidates.clone())
                .into_iter()
                .filter(|c| seen.contains(&c.candidate.video.id))
                .collect();
            let placed: HashSet<Uuid> = place(every, limit, exploration).iter().map(|c| c.candidate.video.id).collect();
            let (visible, _) = looked_up(candidates, &seen, limit);
            let looked: HashSet<Uuid> = visible.iter().map(|c| c.candidate.video.id).collect();
            proptest::prop_assert!(placed.is_subset(&looked), "{placed:?} not all in {looked:?}");
        }
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
