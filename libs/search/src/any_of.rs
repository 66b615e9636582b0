//! A union of queries that moves its clauses only as far as it is asked, summing the
//! scores of those on the current document.
//!
//! Why not Tantivy's own `BooleanQuery` of `Should` clauses: its union buffers a window
//! of 4 096 documents, scoring every clause's match in it, and each seek beyond the
//! window clears and refills it (4 096 score slots). A search's unions are intersected
//! with a narrow prefilter (see `query::build`), so they are sought a few dozen times
//! far apart and asked for one document each: the window was most of a search's CPU
//! (`docs/BENCHMARKS.md`). With the handful of clauses a word has, a linear pass over
//! them per step costs less than a heap.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

/// Matches what any clause matches; scores the sum of the matching clauses' scores, as
/// a `BooleanQuery` of `Should` clauses does.
#[derive(Debug)]
pub(crate) struct AnyOf(Vec<Box<dyn Query>>);

impl AnyOf {
    /// The union of `clauses`, or the one clause itself.
    pub(crate) fn of(mut clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
        if clauses.len() == 1
            && let Some(only) = clauses.pop()
        {
            return only;
        }
        Box::new(AnyOf(clauses))
    }
}

impl Clone for AnyOf {
    fn clone(&self) -> Self {
        AnyOf(self.0.iter().map(|clause| clause.box_clone()).collect())
    }
}

impl Query for AnyOf {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .0
            .iter()
            .map(|clause| clause.weight(enable_scoring))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(AnyOfWeight(weights)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for clause in &self.0 {
            clause.query_terms(visitor);
        }
    }
}

struct AnyOfWeight(Vec<Box<dyn Weight>>);

impl Weight for AnyOfWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut clauses = Vec::with_capacity(self.0.len());
        for weight in &self.0 {
            let scorer = weight.scorer(reader, boost)?;
            if scorer.doc() != TERMINATED {
                clauses.push(scorer);
            }
        }
        let doc = first(&clauses);
        Ok(Box::new(AnyOfScorer { clauses, doc }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        let mut explanation = Explanation::new("sum of the matching clauses", scorer.score());
        for weight in &self.0 {
            if let Ok(clause) = weight.explain(reader, doc) {
                explanation.add_detail(clause);
            }
        }
        Ok(explanation)
    }
}

struct AnyOfScorer {
    /// Each positioned at or after `doc`; those at `doc` match it.
    clauses: Vec<Box<dyn Scorer>>,
    doc: DocId,
}

/// The lowest document the clauses are on.
fn first(clauses: &[Box<dyn Scorer>]) -> DocId {
    clauses.iter().map(|clause| clause.doc()).min().unwrap_or(TERMINATED)
}

impl DocSet for AnyOfScorer {
    fn advance(&mut self) -> DocId {
        let current = self.doc;
        for clause in &mut self.clauses {
            if clause.doc() == current {
                clause.advance();
            }
        }
        self.doc = first(&self.clauses);
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for clause in &mut self.clauses {
            if clause.doc() < target {
                clause.seek(target);
            }
        }
        self.doc = first(&self.clauses);
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.clauses
            .iter()
            .map(|clause| clause.size_hint())
            .fold(0u32, u32::saturating_add)
    }

    fn cost(&self) -> u64 {
        self.clauses.iter().map(|clause| clause.cost()).sum()
    }
}

impl Scorer for AnyOfScorer {
    fn score(&mut self) -> Score {
        let current = self.doc;
        self.clauses
            .iter_mut()
            .filter(|clause| clause.doc() == current)
            .map(|clause| clause.score())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, TermQuery};
    use tantivy::schema::{Field, IndexRecordOption, Schema, TEXT};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;

    /// Every match of `query` with its score.
    fn matches(index: &Index, query: &dyn Query) -> tantivy::Result<BTreeMap<(u32, DocId), Score>> {
        let searcher = index.reader()?.searcher();
        let limit = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX).max(1);
        let top = searcher.search(query, &TopDocs::with_limit(limit).order_by_score())?;
        Ok(top
            .into_iter()
            .map(|(score, at)| ((at.segment_ord, at.doc_id), score))
            .collect())
    }

    /// Documents of words `w0`..`w7` written in two segments.
    fn index_of(docs: &[Vec<u8>]) -> tantivy::Result<(Index, Field)> {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000)?;
        for (n, words) in docs.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_text(
                text,
                words.iter().map(|w| format!("w{w}")).collect::<Vec<_>>().join(" "),
            );
            writer.add_document(doc)?;
            if n == docs.len() / 2 {
                writer.commit()?;
            }
        }
        writer.commit()?;
        Ok((index, text))
    }

    fn word(text: Field, w: u8) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(text, &format!("w{w}")),
            IndexRecordOption::WithFreqs,
        ))
    }

    fn same(a: &BTreeMap<(u32, DocId), Score>, b: &BTreeMap<(u32, DocId), Score>) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|((da, sa), (db, sb))| da == db && (sa - sb).abs() <= 1e-4 * sa.abs().max(1.0))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The same documents and scores as a `BooleanQuery` of `Should` clauses, alone
        /// (advanced) and under a required word (sought).
        #[test]
        fn agrees_with_a_boolean_union(
            docs in prop::collection::vec(prop::collection::vec(0u8..8, 0..6), 1..200),
            clauses in prop::collection::vec((0u8..8, 1u8..4), 1..6),
            required in 0u8..8,
        ) {
            let (index, text) = index_of(&docs).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let boosted = || -> Vec<Box<dyn Query>> {
                clauses
                    .iter()
                    .map(|(w, boost)| Box::new(BoostQuery::new(word(text, *w), f32::from(*boost))) as Box<dyn Query>)
                    .collect()
            };
            let ours = AnyOf::of(boosted());
            let theirs: Box<dyn Query> =
                Box::new(BooleanQuery::new(boosted().into_iter().map(|q| (Occur::Should, q)).collect()));
            let run = |q: &dyn Query| matches(&index, q).map_err(|e| TestCaseError::fail(e.to_string()));
            let (a, b) = (run(ours.as_ref())?, run(theirs.as_ref())?);
            prop_assert!(same(&a, &b), "alone: {a:?} vs {b:?}");
            let under = |q: Box<dyn Query>| -> Box<dyn Query> {
                Box::new(BooleanQuery::new(vec![(Occur::Must, word(text, required)), (Occur::Must, q)]))
            };
            let (a, b) = (run(under(ours.box_clone()).as_ref())?, run(under(theirs.box_clone()).as_ref())?);
            prop_assert!(same(&a, &b), "under a required word: {a:?} vs {b:?}");
        }
    }
}
