//! The index's fields and the analyzers that turn text into terms.

use tantivy::Index;
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer, Token, TokenStream,
};

/// Bumped whenever the fields or analyzers change: an index written under another
/// version is rebuilt (see [`crate::SearchIndex::open`]).
pub(crate) const SCHEMA_VERSION: u32 = 5;

/// How a text is cut into terms. Every text is indexed three ways, as PostgreSQL's
/// search did: words as written (lowercased; typo matching works on these, prefix
/// matching on their beginnings, see [`TextFields::beginnings`]), and stemmed in English and in German (a search need not be in the video's language).
/// A stemmed field holds only the stems that differ from their word (`running` →
/// `run`, not `run` → `run`), so a query reads each uninflected word's postings once,
/// not three times; a query therefore looks a stem up in both fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Analyzer {
    Simple,
    English,
    German,
}

impl Analyzer {
    pub(crate) const ALL: [Analyzer; 3] = [Analyzer::Simple, Analyzer::English, Analyzer::German];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Analyzer::Simple => "skillreel_simple",
            Analyzer::English => "skillreel_en",
            Analyzer::German => "skillreel_de",
        }
    }

    pub(crate) fn build(self) -> TextAnalyzer {
        let words = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(64))
            .filter(LowerCaser);
        match self {
            Analyzer::Simple => words.build(),
            Analyzer::English => words.filter(Stemmer::new(Language::English)).build(),
            Analyzer::German => words.filter(Stemmer::new(Language::German)).build(),
        }
    }
}

/// The three analyzers, built once and reused for every document or query word.
pub(crate) struct Analyzers([TextAnalyzer; 3]);

impl Analyzers {
    pub(crate) fn new() -> Self {
        Self(Analyzer::ALL.map(Analyzer::build))
    }

    pub(crate) fn tokens(&mut self, analyzer: Analyzer, text: &str) -> Vec<Token> {
        let mut stream = self.0[analyzer as usize].token_stream(text);
        let mut tokens = Vec::new();
        while let Some(token) = TokenStream::next(&mut stream) {
            tokens.push(token.clone());
        }
        tokens
    }

    pub(crate) fn terms(&mut self, analyzer: Analyzer, text: &str) -> Vec<String> {
        self.tokens(analyzer, text).into_iter().map(|t| t.text).collect()
    }
}

/// One text of a video, indexed by each [`Analyzer`] (in [`Analyzer::ALL`]'s order)
/// and by its words' beginnings, and how much a match in it weighs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextFields {
    pub(crate) by: [Field; 3],
    /// Every beginning of every word as written, shorter than the word (`k`, `ku`,
    /// `kub` of `kube`): a word typed so far is one term here, where it would be the
    /// union of every longer word it begins in the words' own field.
    pub(crate) beginnings: Field,
    pub(crate) weight: f32,
}

impl TextFields {
    pub(crate) fn of(&self, analyzer: Analyzer) -> Field {
        self.by[analyzer as usize]
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Fields {
    /// The video's id as text: what an update or removal deletes by.
    pub(crate) id: Field,
    /// The id again, as two numbers a result is read from without touching stored
    /// documents (the index stores none).
    pub(crate) id_hi: Field,
    pub(crate) id_lo: Field,
    pub(crate) title: TextFields,
    pub(crate) tags: TextFields,
    /// Description and captions.
    pub(crate) body: TextFields,
    /// Every word of every text, as written and stemmed both ways, and every beginning
    /// of a word as written, without frequencies: what a search narrows by before it
    /// scores (see `query::build`).
    pub(crate) any_text: Field,
    /// Who may list the video (see `document::audience_terms`).
    pub(crate) audience: Field,
    pub(crate) tag: Field,
    pub(crate) community: Field,
    pub(crate) author: Field,
    pub(crate) language: Field,
    pub(crate) duration_ms: Field,
    /// Microseconds since the epoch: the key of the `recent` order.
    pub(crate) published_at: Field,
}

impl Fields {
    pub(crate) fn texts(&self) -> [TextFields; 3] {
        [self.title, self.tags, self.body]
    }
}

/// The schema and its fields. Text fields keep term frequencies but no positions
/// (search matches words, not phrases), and nothing is stored: results are ids.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let mut text = |name: &str, weight: f32| {
        let mut scored = |field: &str, analyzer: Analyzer| {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(analyzer.name())
                .set_index_option(IndexRecordOption::WithFreqs);
            builder.add_text_field(field, TextOptions::default().set_indexing_options(indexing))
        };
        TextFields {
            by: Analyzer::ALL.map(|analyzer| scored(&format!("{name}_{}", analyzer.name()), analyzer)),
            // Written pre-tokenized (see `document`); the analyzer is never run on it.
            beginnings: scored(&format!("{name}_beginnings"), Analyzer::Simple),
            weight,
        }
    };
    let (title, tags, body) = (text("title", 3.0), text("tags", 2.0), text("body", 1.0));
    let fields = Fields {
        title,
        tags,
        body,
        id: builder.add_text_field("id", STRING),
        id_hi: builder.add_u64_field("id_hi", FAST),
        id_lo: builder.add_u64_field("id_lo", FAST),
        any_text: builder.add_text_field(
            "any_text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(Analyzer::Simple.name())
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        audience: builder.add_text_field(AUDIENCE, STRING | FAST),
        tag: builder.add_text_field("tag", STRING),
        community: builder.add_text_field("community", STRING),
        author: builder.add_text_field("author", STRING),
        language: builder.add_text_field("language", STRING),
        duration_ms: builder.add_u64_field("duration_ms", INDEXED),
        published_at: builder.add_i64_field("published_at", FAST),
    };
    (builder.build(), fields)
}

/// The field of the terms naming who may list a video (see
/// [`crate::document::audience_terms`]); a column too, read as results are collected.
pub(crate) const AUDIENCE: &str = "audience";

/// Makes the analyzers known to `index` (before a writer or a query uses them).
pub(crate) fn register_analyzers(index: &Index) {
    for analyzer in Analyzer::ALL {
        index.tokenizers().register(analyzer.name(), analyzer.build());
    }
}
