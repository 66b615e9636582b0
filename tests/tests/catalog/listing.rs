//! Finding videos: search in two languages, stable pagination, the read cache.

use super::*;

/// English and German, with stemming and prefixes; title matches rank first.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn search_finds_videos_in_two_languages_and_ranks_titles_first(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let a = w.author_id;
    let title_hit = w
        .seed_for(
            a,
            "Zero-downtime deployments",
            "published",
            "org",
            None,
            "en",
            &["kubernetes"],
        )
        .await;
    let tag_hit = w
        .seed_for(a, "Rolling updates", "published", "org", None, "en", &["deployment"])
        .await;
    let german = w
        .seed_for(
            a,
            "Datenbanken richtig indizieren",
            "published",
            "org",
            None,
            "de",
            &["postgres"],
        )
        .await;
    let _unrelated = w
        .seed_for(a, "Knife skills", "published", "org", None, "en", &["cooking"])
        .await;
    let _hidden = w
        .seed_for(a, "Deployment secrets", "ready", "org", None, "en", &[])
        .await;

    let search = |q: &str| {
        let path = format!("/api/v1/videos?q={q}");
        let app = &w.app;
        let who = w.other.clone();
        async move {
            let r = app.call(Method::GET, &path, &who, None).await;
            assert_eq!(r.status(), StatusCode::OK);
            let page: Value = r.json().await.unwrap_or_default();
            page["items"]
                .as_array()
                .map(|items| items.iter().map(id_of).collect::<Vec<_>>())
                .unwrap_or_default()
        }
    };
    // Stemming: "deploy" finds "deployments" and the tag "deployment"; the title
    // match first; the unpublished one never.
    assert_eq!(search("deploy").await, vec![title_hit, tag_hit]);
    // A prefix while typing.
    assert_eq!(search("deplo").await, vec![title_hit, tag_hit]);
    // German: the singular finds the plural ("Datenbank" → "Datenbanken").
    assert_eq!(search("Datenbank").await, vec![german]);
    assert_eq!(search("indizieren%20postgres").await, vec![german]);
    assert!(search("quantum").await.is_empty());
    // Hostile input is only words to us.
    assert!(search("%27%3B%20drop%20table%20video%3B--").await.len() <= 1);
    // Relevance without a search is recency (the contract cannot tie one parameter to
    // another, so this is not refused).
    let r = w
        .app
        .call(Method::GET, "/api/v1/videos?sort=relevance", &w.other, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for bad in [
        "/api/v1/videos?q=%20%20",
        "/api/v1/videos?sort=loud",
        "/api/v1/videos?limit=0",
    ] {
        assert_problem(
            w.app.call(Method::GET, bad, &w.other, None).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
}

/// Pages stay stable while new videos are published: nothing is skipped or repeated.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn pagination_is_stable_under_concurrent_inserts(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let mut original = HashSet::new();
    for i in 0..30 {
        original.insert(w.seed(&format!("Video {i}"), "published", "org", None).await);
    }
    let inserter = {
        let pool = w.pool.clone();
        let author = w.author_id;
        tokio::spawn(async move {
            for i in 0..20 {
                sqlx::query(
                    "insert into video (id, owner_id, title, status, published_at) values ($1, $2, $3, 'published', now())",
                )
                .bind(Uuid::now_v7())
                .bind(author)
                .bind(format!("Late video {i}"))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    // The default page (the feed most people see) and each sort with a small page.
    for query in [
        "",
        "sort=recent&limit=7&",
        "sort=popular&limit=7&",
        "sort=trending&limit=7&",
    ] {
        let sort = query;
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/videos?{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("cursor={c}"));
            }
            let page: Value = w
                .app
                .call(Method::GET, &path, &w.other, None)
                .await
                .json()
                .await
                .unwrap_or_default();
            seen.extend(page["items"].as_array().into_iter().flatten().map(id_of));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<_> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a video came twice");
        assert!(original.is_subset(&unique), "{sort}: a video was skipped");
    }
    let _ = inserter.await;
}

/// Two catalog replicas, each with its read cache: a change made through one, or
/// straight in the database, reaches what the other serves; the caller reads their own
/// write at once; and the cache really serves (a change that bypasses the triggers is
/// not seen, which is what the triggers are for).
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_read_cache_follows_changes_made_anywhere(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let (a, b) = (w.app.catalog.clone(), w.app.spawn_catalog_replica().await);
    let video = w.seed("Cached lesson", "published", "org", None).await;

    // Served from memory: a title changed behind the triggers' back stays unseen on `a`.
    let mut cached = false;
    for round in 0..50 {
        let (status, _) = until_seen(&w, &a, &w.other, video, |s, _| s == StatusCode::OK).await;
        assert_eq!(status, StatusCode::OK);
        let mut tx = w.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for statement in [
            "set local session_replication_role = replica".to_owned(),
            format!("update video set title = 'Unseen {round}' where id = '{video}'"),
        ] {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let (_, body) = until_seen(&w, &a, &w.other, video, |_, _| true).await;
        if !body["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("Unseen {round}"))
        {
            cached = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(cached, "the catalog never answered from memory");

    // The author renames it through `b`: `a` follows.
    let r = w
        .app
        .call_on(
            &b,
            Method::PATCH,
            &format!("/api/v1/videos/{video}"),
            &w.author,
            Some(json!({ "title": "Renamed lesson" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, body) = until_seen(&w, &a, &w.other, video, |_, v| v["title"] == "Renamed lesson").await;
    assert_eq!(body["title"], "Renamed lesson");

    // Bob likes it through `b`: his like and the count show on `a`.
    let r = w
        .app
        .call_on(&b, Method::PUT, &format!("/api/v1/videos/{video}/like"), &w.other, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, body) = until_seen(&w, &a, &w.other, video, |_, v| v["liked"] == true).await;
    assert_eq!(
        (body["liked"].clone(), body["like_count"].clone()),
        (json!(true), json!(1))
    );

    // ...and takes it back through `a`: the very next read on `a` shows it.
    let r = w
        .app
        .call(Method::DELETE, &format!("/api/v1/videos/{video}/like"), &w.other, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = w
        .app
        .get_video(&w.other, &video.to_string())
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (body["liked"].clone(), body["like_count"].clone()),
        (json!(false), json!(0))
    );

    // Another service writes the row (as the transcoder does): `a` follows.
    sqlx::query("update video set view_count = 42 where id = $1")
        .bind(video)
        .execute(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, body) = until_seen(&w, &a, &w.other, video, |_, v| v["view_count"] == 42).await;
    assert_eq!(body["view_count"], 42);

    // A community video: Bob joins on `a` and sees it; he leaves on `b`, and `a` stops
    // showing it to him.
    let members_only = w
        .seed("Members only", "published", "community", Some(w.community))
        .await;
    let (status, _) = until_seen(&w, &a, &w.other, members_only, |_, _| true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    w.join(&w.other, w.community).await;
    let (status, _) = until_seen(&w, &a, &w.other, members_only, |s, _| s == StatusCode::OK).await;
    assert_eq!(status, StatusCode::OK);
    let r = w
        .app
        .call_on(
            &b,
            Method::DELETE,
            &format!("/api/v1/communities/{}/membership", w.community),
            &w.other,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = until_seen(&w, &a, &w.other, members_only, |s, _| s == StatusCode::NOT_FOUND).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The author deletes it through `b`: gone on `a`.
    let r = w
        .app
        .call_on(&b, Method::DELETE, &format!("/api/v1/videos/{video}"), &w.author, None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = until_seen(&w, &a, &w.other, video, |s, _| s == StatusCode::NOT_FOUND).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Searches are answered from each replica's memory, and follow what is published,
/// renamed and who may see it, wherever the change is made; each reader sees only
/// their share of the shared matches, page by page.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn searches_from_memory_follow_publishing_and_audience(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let (a, b) = (w.app.catalog.clone(), w.app.spawn_catalog_replica().await);
    let basics = w.seed("Kubernetes basics", "published", "org", None).await;
    let has = |titles: &[String], t: &str| titles.iter().any(|x| x == t);

    // Served from memory: the search text changed behind the triggers' back still finds it.
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| has(t, "Kubernetes basics")).await;
    assert_eq!(titles, ["Kubernetes basics"]);
    let mut cached = false;
    for _ in 0..50 {
        search_titles(&w, &a, &w.other, "kubernetes").await;
        let mut tx = w.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for statement in [
            "set local session_replication_role = replica".to_owned(),
            format!("update video set search = to_tsvector('simple', 'unrelated') where id = '{basics}'"),
        ] {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        if has(
            &search_titles(&w, &a, &w.other, "kubernetes").await,
            "Kubernetes basics",
        ) {
            cached = true;
            break;
        }
        // not held yet: put the text back and try again
        sqlx::query("update video set title = title where id = $1")
            .bind(basics)
            .execute(&w.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(cached, "searches were never answered from memory");
    // Its search text put back (through the triggers, as any edit does).
    sqlx::query("update video set title = 'Kubernetes basics' || '' where id = $1")
        .bind(basics)
        .execute(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // New videos, as other services publish them: `a` finds what Bob may see.
    let operators = w.seed("Kubernetes operators", "published", "org", None).await;
    w.seed("Kubernetes for members", "published", "community", Some(w.community))
        .await;
    w.seed("Kubernetes unlisted", "published", "unlisted", None).await;
    w.seed("Kubernetes draft", "ready", "org", None).await;
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| has(t, "Kubernetes operators")).await;
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(sorted, ["Kubernetes basics", "Kubernetes operators"], "{titles:?}");
    // The author (a member) sees their community and unlisted videos too, never a draft.
    let mut mine = search_titles(&w, &a, &w.author, "kubernetes").await;
    mine.sort();
    assert_eq!(
        mine,
        [
            "Kubernetes basics",
            "Kubernetes for members",
            "Kubernetes operators",
            "Kubernetes unlisted"
        ]
    );
    // Bob joins on `b`: `a` shows him the members' video.
    let r = w
        .app
        .call_on(
            &b,
            Method::PUT,
            &format!("/api/v1/communities/{}/membership", w.community),
            &w.other,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| t.len() == 3).await;
    assert!(has(&titles, "Kubernetes for members"), "{titles:?}");

    // The author renames one on `b`: `a` stops finding it under its old words.
    let r = w
        .app
        .call_on(
            &b,
            Method::PATCH,
            &format!("/api/v1/videos/{operators}"),
            &w.author,
            Some(json!({ "title": "Terraform operators", "tags": ["terraform"] })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| !has(t, "Kubernetes operators")).await;
    assert!(
        !has(&titles, "Kubernetes operators") && !has(&titles, "Terraform operators"),
        "{titles:?}"
    );
    let titles = until_found(&w, &a, &w.other, "terraform", |t| !t.is_empty()).await;
    assert_eq!(titles, ["Terraform operators"]);
}
