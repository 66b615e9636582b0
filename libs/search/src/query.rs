//! A search: the words, who asks, the filters and the order, turned into one Tantivy
//! query and one pass over the matches.

use std::ops::Bound;

use skillreel_domain::{CommunityId, UserId, VideoId};
use tantivy::collector::TopDocs;
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, SegmentReader, Term};
use uuid::Uuid;

use std::sync::Arc;

use crate::any_of::AnyOf;
use crate::columns::OpenColumns;
use crate::document::{EVERYONE, community_term, owner_term};
use crate::schema::{Analyzer, Analyzers, Fields};

/// Who lists: what the index's audience terms are matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lister {
    /// Lists every published video.
    Admin,
    /// Lists what everyone may, their own videos, and their communities' videos.
    Person { id: UserId, communities: Vec<CommunityId> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
    /// Best match first (BM25 over title, tags, description and captions).
    Relevance,
    /// Newest first.
    Recent,
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Lowercased words separated by single spaces (as `skillreel_domain::search_words`
    /// gives them); each must match, as written, as a prefix, stemmed, or (when nothing
    /// matches so) with one typo.
    pub words: String,
    pub lister: Lister,
    pub tag: Option<String>,
    pub community: Option<CommunityId>,
    pub author: Option<UserId>,
    pub language: Option<String>,
    pub min_duration_ms: Option<i64>,
    pub max_duration_ms: Option<i64>,
    pub order: SearchOrder,
    /// The key and id of the last result of the previous page.
    pub after: Option<(f64, Uuid)>,
    pub limit: usize,
}

impl SearchRequest {
    /// The first page of `words` for `lister`: best match first, no filters, 20 results.
    pub fn new(words: impl Into<String>, lister: Lister) -> Self {
        Self {
            words: words.into(),
            lister,
            tag: None,
            community: None,
            author: None,
            language: None,
            min_duration_ms: None,
            max_duration_ms: None,
            order: SearchOrder::Relevance,
            after: None,
            limit: 20,
        }
    }
}

/// A result: the video and its key in the order asked for (the relevance score, or
/// the publication time in seconds), what a cursor carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub id: VideoId,
    pub key: f64,
}

/// Words of at least this many characters also match with one typo (shorter ones
/// would match too many other words), when the words as typed match nothing and the
/// word itself is in no video: a typo is forgiven, not mixed into what was found as
/// typed, and a search for two real words that no video has together stays cheap.
const FUZZY_FROM_CHARS: usize = 5;
/// What a match weighs, relative to the field's weight: the word as written or
/// stemmed counts fully, a longer word it begins less, a word one typo away least.
const PREFIX_WEIGHT: f32 = 0.5;
const FUZZY_WEIGHT: f32 = 0.3;

impl SearchRequest {
    /// The words long enough to forgive a typo in.
    pub(crate) fn typo_candidates(&self) -> impl Iterator<Item = &str> {
        self.words.split(' ').filter(|w| w.chars().count() >= FUZZY_FROM_CHARS)
    }
}

/// `typos`: the words that may also match one edit away.
pub(crate) fn build(
    request: &SearchRequest,
    fields: &Fields,
    analyzers: &mut Analyzers,
    typos: &[&str],
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for word in request.words.split(' ').filter(|w| !w.is_empty()) {
        let (scored, forms) = word_query(word, fields, analyzers, typos);
        clauses.push((Occur::Must, scored));
        if !typos.contains(&word) {
            clauses.push((Occur::Must, unscored(any_form(fields.any_text, &forms))));
        }
    }
    clauses.extend(filters(request, fields).into_iter().map(|f| (Occur::Must, unscored(f))));
    Box::new(BooleanQuery::new(clauses))
}

/// A video with any of these terms in any of its texts, as a word or a word's
/// beginning (the any-text field holds both). Each word's scored query is a union
/// over three fields and several forms; narrowed first by these single-field clauses
/// (cheap to intersect, and the least costly clauses lead), the unions are only
/// scored for the videos that hold every word.
fn any_form(field: Field, forms: &std::collections::BTreeSet<String>) -> Box<dyn Query> {
    AnyOf::of(forms.iter().map(|form| keyword(field, form)).collect())
}

/// Any form of `word` in any text of the video: as written, stemmed (a stem is looked
/// up among the words as written too, where an uninflected word is), as the beginning
/// of a longer word, and when it is one of `typos` one edit away. Also the words the
/// prefilter looks up (see [`any_form`]).
fn word_query(
    word: &str,
    fields: &Fields,
    analyzers: &mut Analyzers,
    typos: &[&str],
) -> (Box<dyn Query>, std::collections::BTreeSet<String>) {
    let written = analyzers.terms(Analyzer::Simple, word);
    let mut stems: Vec<(Analyzer, String)> = Vec::new();
    for stemmed in [Analyzer::English, Analyzer::German] {
        stems.extend(analyzers.terms(stemmed, word).into_iter().map(|s| (stemmed, s)));
    }
    let mut forms: Vec<Box<dyn Query>> = Vec::new();
    // What the query matches, as words: the prefilter's terms (every one of them is in
    // the any-text field of each video it is in, as a word or a word's beginning).
    let mut words: std::collections::BTreeSet<String> = written.iter().cloned().collect();
    words.extend(stems.iter().map(|(_, stem)| stem.clone()));
    for text in fields.texts() {
        let mut terms: Vec<Term> = written
            .iter()
            .map(|w| Term::from_field_text(text.of(Analyzer::Simple), w))
            .collect();
        for (stemmed, stem) in &stems {
            terms.push(Term::from_field_text(text.of(*stemmed), stem));
            terms.push(Term::from_field_text(text.of(Analyzer::Simple), stem));
        }
        terms.sort();
        terms.dedup();
        for term in terms {
            let exact = TermQuery::new(term, IndexRecordOption::WithFreqs);
            forms.push(boosted(Box::new(exact), text.weight));
        }
        let begun = TermQuery::new(
            Term::from_field_text(text.beginnings, word),
            IndexRecordOption::WithFreqs,
        );
        forms.push(boosted(Box::new(begun), text.weight * PREFIX_WEIGHT));
        if typos.contains(&word) {
            let fuzzy = FuzzyTermQuery::new(Term::from_field_text(text.of(Analyzer::Simple), word), 1, true);
            forms.push(boosted(Box::new(fuzzy), text.weight * FUZZY_WEIGHT));
        }
    }
    (AnyOf::of(forms), words)
}

fn boosted(query: Box<dyn Query>, weight: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, weight))
}

/// A condition that narrows the matches without moving their scores.
fn unscored(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

fn keyword(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// The filters a match must pass in the query itself. Who may list a match is checked
/// as it is collected ([`Audience`]), not here: as a query, "everyone or me or one of
/// my communities" is a union that reads most of the index's audience postings for
/// every search.
fn filters(request: &SearchRequest, fields: &Fields) -> Vec<Box<dyn Query>> {
    let mut filters: Vec<Box<dyn Query>> = Vec::new();
    if let Some(tag) = &request.tag {
        filters.push(keyword(fields.tag, tag));
    }
    if let Some(community) = request.community {
        filters.push(keyword(fields.community, &community.to_string()));
    }
    if let Some(author) = request.author {
        filters.push(keyword(fields.author, &author.to_string()));
    }
    if let Some(language) = &request.language {
        filters.push(keyword(fields.language, language));
    }
    if request.min_duration_ms.is_some() || request.max_duration_ms.is_some() {
        let bound = |ms: Option<i64>, make: fn(Term) -> Bound<Term>| match ms {
            Some(ms) => make(Term::from_field_u64(fields.duration_ms, u64::try_from(ms).unwrap_or(0))),
            None => Bound::Unbounded,
        };
        filters.push(Box::new(RangeQuery::new(
            bound(request.min_duration_ms, Bound::Included),
            bound(request.max_duration_ms, Bound::Included),
        )));
    }
    filters
}

/// Who may list a segment's documents: an admin everything, a person the documents
/// carrying one of the audience terms they hold (read from the audience column, by
/// the terms' ordinals in this segment).
enum Audience {
    All,
    /// The ordinals, in the segment's audience column, of the terms the lister holds.
    Held(Vec<u64>),
}

impl Audience {
    fn of(column: Option<&StrColumn>, lister: &Lister) -> Self {
        let Lister::Person { id, communities } = lister else {
            return Audience::All;
        };
        let mut ordinals: Vec<u64> = match column {
            Some(column) => std::iter::once(EVERYONE.to_owned())
                .chain(std::iter::once(owner_term(*id)))
                .chain(communities.iter().map(|c| community_term(*c)))
                // A term this segment cannot look up lists nothing: the index may omit,
                // never reveal.
                .filter_map(|term| column.dictionary().term_ord(term).ok().flatten())
                .collect(),
            None => Vec::new(),
        };
        ordinals.sort_unstable();
        Audience::Held(ordinals)
    }

    fn allows(&self, column: Option<&StrColumn>, doc: DocId) -> bool {
        match (self, column) {
            (Audience::All, _) => true,
            (Audience::Held(ordinals), Some(column)) => {
                column.term_ords(doc).any(|o| ordinals.binary_search(&o).is_ok())
            }
            (Audience::Held(_), None) => false,
        }
    }
}

/// The key a result is ordered by, with its id to break ties (both descending, as the
/// database orders a page), or `None` when it is not after the cursor.
type Ranked = Option<(f64, u64, u64)>;

/// Collects the top `request.limit` matches after the cursor, in the order asked for,
/// reading each segment's columns from `open`.
pub(crate) fn collector(
    request: &SearchRequest,
    open: Arc<OpenColumns>,
) -> impl tantivy::collector::Collector<Fruit = Vec<(Ranked, tantivy::DocAddress)>> {
    let order = request.order;
    let lister = request.lister.clone();
    let after = request.after.map(|(key, id)| {
        let (hi, lo) = id.as_u64_pair();
        (key, hi, lo)
    });
    TopDocs::with_limit(request.limit.max(1)).tweak_score(move |segment: &SegmentReader| {
        let columns = open.of(segment);
        let audience = Audience::of(columns.audience.as_ref(), &lister);
        move |doc: DocId, score: Score| -> Ranked {
            if !audience.allows(columns.audience.as_ref(), doc) {
                return None;
            }
            let hi = columns.id_hi.as_ref()?.first(doc)?;
            let lo = columns.id_lo.as_ref()?.first(doc)?;
            let key = match order {
                SearchOrder::Relevance => f64::from(score),
                SearchOrder::Recent => columns.published_at.as_ref()?.first(doc)? as f64 / 1e6,
            };
            let ranked = (key, hi, lo);
            after.is_none_or(|a| ranked < a).then_some(ranked)
        }
    })
}

pub(crate) fn found(ranked: Vec<(Ranked, tantivy::DocAddress)>) -> Vec<Found> {
    ranked
        .into_iter()
        .filter_map(|(ranked, _)| {
            let (key, hi, lo) = ranked?;
            Some(Found {
                id: VideoId::from_uuid(Uuid::from_u64_pair(hi, lo)),
                key,
            })
        })
        .collect()
}
