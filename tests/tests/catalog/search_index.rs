//! Search through each replica's index: a typo PostgreSQL's search would not forgive,
//! the audience the index narrows by, an edit found by the very next search (on this
//! replica and on another), and PostgreSQL answering alike when the index is off.

use super::*;

async fn found(w: &World, base: Option<&str>, who: &str, q: &str) -> Vec<Uuid> {
    let path = format!("/api/v1/videos?q={q}");
    let r = match base {
        Some(base) => w.app.call_on(base, Method::GET, &path, who, None).await,
        None => w.app.call(Method::GET, &path, who, None).await,
    };
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap_or_default();
    page["items"]
        .as_array()
        .map(|items| items.iter().map(id_of).collect())
        .unwrap_or_default()
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_index_forgives_a_typo_keeps_the_audience_and_sees_every_change_at_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let w = world(&db, |_| {}).await;
    let open = w
        .seed_for(
            w.author_id,
            "Kubernetes operators",
            "published",
            "org",
            None,
            "en",
            &["platform"],
        )
        .await;
    let members = w
        .seed_for(
            w.author_id,
            "Kubernetes for Rustaceans",
            "published",
            "community",
            Some(w.community),
            "en",
            &[],
        )
        .await;
    // One transposed pair of letters: only the index finds it.
    assert_eq!(found(&w, None, &w.other, "kubernetse").await, vec![open]);
    let mut for_member = found(&w, None, &w.author, "kubernetse").await;
    for_member.sort();
    let mut both = vec![open, members];
    both.sort();
    assert_eq!(for_member, both, "a member also finds the community's video");

    // Renamed through one replica, searched on another at once: each replica's index
    // catches up with what was committed before it answers.
    let other = w.app.spawn_catalog_replica().await;
    let r = w
        .app
        .call(
            Method::PATCH,
            &format!("/api/v1/videos/{open}"),
            &w.author,
            Some(json!({ "title": "Helm charts" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(found(&w, Some(&other), &w.other, "helm").await, vec![open]);
    assert_eq!(found(&w, None, &w.other, "helm").await, vec![open]);
    assert!(found(&w, None, &w.other, "operators").await.is_empty());

    // Deleted by its author: gone from the next search.
    let r = w
        .app
        .call(Method::DELETE, &format!("/api/v1/videos/{open}"), &w.author, None)
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert!(found(&w, Some(&other), &w.other, "helm").await.is_empty());
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn with_the_index_off_postgres_answers_but_forgives_no_typo(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |s| s.catalog.search_index = false).await;
    let open = w
        .seed_for(
            w.author_id,
            "Kubernetes operators",
            "published",
            "org",
            None,
            "en",
            &["platform"],
        )
        .await;
    assert_eq!(found(&w, None, &w.other, "kubernetes").await, vec![open]);
    assert_eq!(found(&w, None, &w.other, "kube").await, vec![open]);
    assert!(found(&w, None, &w.other, "kubernetse").await.is_empty());
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn searches_asked_together_each_get_their_readers_results(_: PgPoolOptions, db: PgConnectOptions) {
    // One lane: the burst below queues behind one statement at a time, so searches
    // share batches.
    let w = world(&db, |s| {
        s.catalog.cache_ttl_seconds = 0;
        s.catalog.search_lanes = 1;
    })
    .await;
    let open = w
        .seed_for(w.author_id, "Kubernetes operators", "published", "org", None, "en", &[])
        .await;
    let members = w
        .seed_for(
            w.author_id,
            "Kubernetes for Rustaceans",
            "published",
            "community",
            Some(w.community),
            "en",
            &[],
        )
        .await;
    let terraform = w
        .seed_for(w.author_id, "Terraform modules", "published", "org", None, "en", &[])
        .await;
    let mut both = vec![open, members];
    both.sort();
    // (who, token, words, what they find, in any order): the author is a member of the
    // community, the other reader is not.
    let asks: Vec<(&str, &str, &str, Vec<Uuid>)> = vec![
        ("other", &w.other, "kubernetes", vec![open]),
        ("member", &w.author, "kubernetes", both.clone()),
        ("other", &w.other, "terraform", vec![terraform]),
        ("member", &w.author, "rustaceans", vec![members]),
        ("other", &w.other, "rustaceans", Vec::new()),
        ("admin", &w.admin, "kubernetes", both),
    ];
    let burst: Vec<_> = (0..6).flat_map(|_| asks.iter()).collect();
    let answers = get_at_once(
        &w.app,
        burst
            .iter()
            .map(|(_, token, words, _)| (*token, format!("/api/v1/videos?q={words}"))),
    )
    .await;
    for ((who, _, words, want), (status, body)) in burst.iter().zip(answers) {
        assert_eq!(status, StatusCode::OK, "{who} searching {words}: {body}");
        let mut ids: Vec<Uuid> = body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items for {who} searching {words}: {body}"))
            .iter()
            .map(id_of)
            .collect();
        ids.sort();
        assert_eq!(&ids, want, "{who} searching {words}");
    }
    // Every search asked for its reader once and loaded its page once (a search that
    // finds nothing has no page to load), and searches shared statements.
    let figure = scraped_metrics(&w.app).await;
    let searches = burst.len() as f64;
    let with_results = burst.iter().filter(|(_, _, _, want)| !want.is_empty()).count() as f64;
    assert_eq!(figure("skillreel_catalog_search_context_batch_size_sum "), searches);
    assert_eq!(figure("skillreel_catalog_search_page_batch_size_sum "), with_results);
    let statements = figure("skillreel_catalog_search_context_batch_size_count ");
    assert!(
        statements < searches,
        "{searches} searches took {statements} statements"
    );
}
