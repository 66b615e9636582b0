//! First pages of the lists most people ask for (the feed, popular, trending, one tag,
//! one community) that arrive together are asked of the database in one statement;
//! each reader still gets their own page: a community's videos only to its members.
//! Admins (who list everything) are answered one statement each.

use super::*;

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn first_pages_asked_together_each_get_their_readers_page(_: PgPoolOptions, db: PgConnectOptions) {
    // One lane: the burst below queues behind one statement at a time, so pages share
    // batches.
    let w = world(&db, |s| {
        s.catalog.cache_ttl_seconds = 0;
        s.catalog.list_lanes = 1;
    })
    .await;
    let rust = ["rust"];
    let first = w
        .seed_for(w.author_id, "First lesson", "published", "org", None, "en", &rust)
        .await;
    let second = w
        .seed_for(w.author_id, "Second lesson", "published", "org", None, "en", &rust)
        .await;
    let members_only = w
        .seed_for(
            w.author_id,
            "Members only",
            "published",
            "community",
            Some(w.community),
            "en",
            &rust,
        )
        .await;
    // Newest first (ids are time-ordered, so popular and trending ties fall the same way).
    let everyone = vec![second, first];
    let members = vec![members_only, second, first];
    let community = format!("community={}", w.community);
    let pages = ["", "sort=popular", "sort=trending", "tag=rust", community.as_str()];
    // (who, token, query, the page they get)
    let mut expected: Vec<(&str, &str, &str, Vec<Uuid>)> = Vec::new();
    for query in pages {
        let community_page = query.starts_with("community=");
        let bobs = if community_page { Vec::new() } else { everyone.clone() };
        let mos = if community_page {
            vec![members_only]
        } else {
            members.clone()
        };
        expected.push(("bob", &w.other, query, bobs));
        expected.push(("mo", &w.moderator, query, mos));
    }
    let batched = expected.len() * 6;
    expected.push(("admin", &w.admin, "", members.clone()));
    let burst: Vec<_> = (0..6).flat_map(|_| expected.iter()).collect();
    let answers = get_at_once(
        &w.app,
        burst
            .iter()
            .map(|(_, token, query, _)| (*token, format!("/api/v1/videos?{query}"))),
    )
    .await;
    for ((who, _, query, want), (status, body)) in burst.iter().zip(answers) {
        assert_eq!(status, StatusCode::OK, "{who} listing ?{query}: {body}");
        let ids: Vec<Uuid> = body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items for {who} listing ?{query}: {body}"))
            .iter()
            .filter_map(|item| item["id"].as_str()?.parse().ok())
            .collect();
        assert_eq!(&ids, want, "{who} listing ?{query}");
        assert_eq!(body["next_cursor"], Value::Null, "{who} listing ?{query}");
    }
    // Every reader's first page was asked of the database once, and some shared a
    // statement; the admin's were not batched.
    let figure = scraped_metrics(&w.app).await;
    assert_eq!(figure("skillreel_catalog_first_page_batch_size_sum "), batched as f64);
    let statements = figure("skillreel_catalog_first_page_batch_size_count ");
    assert!(
        statements < batched as f64,
        "{batched} pages took {statements} statements"
    );
}
