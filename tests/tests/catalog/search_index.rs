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
