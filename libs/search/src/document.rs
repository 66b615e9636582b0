//! What the index holds of a video.

use skillreel_domain::{CommunityId, UserId, VideoId, Visibility};
use tantivy::TantivyDocument;
use tantivy::tokenizer::{PreTokenizedString, Token};

use crate::schema::{Analyzer, Analyzers, Fields};

/// A published video as search sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedVideo {
    pub id: VideoId,
    pub owner: UserId,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// The text of its captions (as much as PostgreSQL's search indexed).
    pub spoken: String,
    pub language: String,
    pub visibility: Visibility,
    pub community: Option<CommunityId>,
    pub duration_ms: Option<i64>,
    /// Microseconds since the epoch.
    pub published_at: i64,
}

/// The terms naming who may list a video, the index's twin of
/// [`Viewer::may_list`](skillreel_domain::access::Viewer::may_list) for published
/// videos: everyone for `org` and `federated`, the community's members for
/// `community`, and always its author (the only one who lists an `unlisted` video).
/// Admins list every video and match no term. A search asks for the terms its caller
/// holds ([`crate::Lister`]); the catalog checks each result against the policy again.
pub(crate) fn audience_terms(video: &IndexedVideo) -> Vec<String> {
    let mut terms = vec![owner_term(video.owner)];
    match (video.visibility, video.community) {
        (Visibility::Org | Visibility::Federated, _) => terms.push(EVERYONE.to_owned()),
        (Visibility::Community, Some(community)) => terms.push(community_term(community)),
        (Visibility::Community, None) | (Visibility::Unlisted, _) => {}
    }
    terms
}

pub(crate) const EVERYONE: &str = "everyone";

pub(crate) fn owner_term(owner: UserId) -> String {
    format!("owner:{owner}")
}

pub(crate) fn community_term(community: CommunityId) -> String {
    format!("community:{community}")
}

impl IndexedVideo {
    pub(crate) fn to_document(&self, fields: &Fields, analyzers: &mut Analyzers) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        let id = self.id.as_uuid();
        let (hi, lo) = id.as_u64_pair();
        doc.add_text(fields.id, id.to_string());
        doc.add_u64(fields.id_hi, hi);
        doc.add_u64(fields.id_lo, lo);
        let tags = self.tags.join(" ");
        let mut any_text: Vec<Token> = Vec::new();
        let body = if self.spoken.is_empty() {
            self.description.clone()
        } else {
            format!("{} {}", self.description, self.spoken)
        };
        for (text_fields, text) in [
            (fields.title, self.title.as_str()),
            (fields.tags, tags.as_str()),
            (fields.body, body.as_str()),
        ] {
            doc.add_text(text_fields.of(Analyzer::Simple), text);
            let words = analyzers.tokens(Analyzer::Simple, text);
            any_text.extend(words.iter().cloned());
            let beginnings = beginnings(&words);
            any_text.extend(beginnings.iter().cloned());
            doc.add_pre_tokenized_text(text_fields.beginnings, pre_tokenized(beginnings));
            for stemmed in [Analyzer::English, Analyzer::German] {
                // The analyzers cut alike and a stemmer maps token to token: the
                // streams line up.
                let tokens: Vec<_> = analyzers
                    .tokens(stemmed, text)
                    .into_iter()
                    .zip(&words)
                    .filter(|(stem, word)| stem.text != word.text)
                    .map(|(stem, _)| stem)
                    .collect();
                any_text.extend(tokens.iter().cloned());
                doc.add_pre_tokenized_text(text_fields.of(stemmed), pre_tokenized(tokens));
            }
        }
        doc.add_pre_tokenized_text(fields.any_text, pre_tokenized(any_text));
        for term in audience_terms(self) {
            doc.add_text(fields.audience, term);
        }
        for tag in &self.tags {
            doc.add_text(fields.tag, tag);
        }
        if let Some(community) = self.community {
            doc.add_text(fields.community, community.to_string());
        }
        doc.add_text(fields.author, self.owner.to_string());
        doc.add_text(fields.language, &self.language);
        if let Some(ms) = self.duration_ms.and_then(|ms| u64::try_from(ms).ok()) {
            doc.add_u64(fields.duration_ms, ms);
        }
        doc.add_i64(fields.published_at, self.published_at);
        doc
    }
}

/// Each word's beginnings shorter than the word, one character at a time (`k`, `ku`,
/// `kub` of `kube`): what a word typed so far is looked up as.
fn beginnings(words: &[Token]) -> Vec<Token> {
    words
        .iter()
        .flat_map(|word| {
            word.text.char_indices().skip(1).map(|(end, _)| Token {
                text: word.text[..end].to_owned(),
                ..word.clone()
            })
        })
        .collect()
}

/// Terms cut already (the index runs no analyzer on them).
fn pre_tokenized(tokens: Vec<Token>) -> PreTokenizedString {
    PreTokenizedString {
        text: String::new(),
        tokens,
    }
}
