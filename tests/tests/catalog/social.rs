//! Likes, people and their profiles, comments, questions and mentions.

use super::*;

/// 100 people like at once, then half unlike while the other half like again: the
/// count is exact.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn like_counts_are_exact_under_concurrency(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |s| s.database.max_connections = 30).await;
    let video = w.seed("Popular", "published", "org", None).await;
    let people: Vec<String> = (0..100).map(|i| token(&format!("fan-{i}"), &[])).collect();
    let path = format!("/api/v1/videos/{video}/like");
    async fn run(app: &TestApp, path: &str, method: Method, who: &[String]) -> Vec<reqwest::Response> {
        futures_util::future::join_all(who.iter().map(|t| app.call(method.clone(), path, t, None))).await
    }
    for r in run(&w.app, &path, Method::PUT, &people).await {
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (first, second) = people.split_at(50);
    let (unlikes, relikes) = tokio::join!(
        run(&w.app, &path, Method::DELETE, first),
        run(&w.app, &path, Method::PUT, second)
    );
    assert!(unlikes.iter().chain(&relikes).all(|r| r.status() == StatusCode::OK));
    let v: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &people[60], None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["like_count"], 50, "{v}");
    assert_eq!(v["liked"], true);
    let rows: i64 = sqlx::query_scalar("select count(*) from video_like where video_id = $1")
        .bind(video)
        .fetch_one(&w.pool)
        .await
        .unwrap_or_default();
    assert_eq!(rows, 50);
}

/// Me, my videos in every state, a colleague's profile, a community's people.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn people_see_their_own_videos_and_each_others_profiles(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let a = w.author_id;
    for (title, status) in [("Failed", "failed"), ("Processing", "processing"), ("Out", "published")] {
        w.seed_for(a, title, status, "org", Some(w.community), "en", &["rust", "testing"])
            .await;
    }
    let mine: Value = w
        .app
        .call(Method::GET, "/api/v1/me/videos", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let statuses: Vec<&str> = mine["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["published", "processing", "failed"], "{mine}");
    let failed: Value = w
        .app
        .call(Method::GET, "/api/v1/me/videos?status=failed", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(failed["items"].as_array().map(Vec::len), Some(1));

    let me = w.app.me(&w.author).await;
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["manager"], "maria");
    assert_eq!(me["communities"][0]["name"], "Rustaceans");
    assert_eq!(me["published_videos"], 1);

    let profile: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/users/{a}"), &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(profile["skills"], json!(["rust", "testing"]), "{profile}");
    assert!(
        profile.get("subject").is_none(),
        "a profile shows no login details: {profile}"
    );
    assert_problem(
        w.app.call(Method::GET, "/api/v1/users/nobody", &w.other, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let members: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/communities/{}/members", w.community),
            &w.other,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(members["items"][0]["role"], "moderator", "{members}");
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));
    let top: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/communities/{}/contributors", w.community),
            &w.other,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(top["items"][0]["id"], a.to_string(), "{top}");
    assert_problem(
        w.app
            .call(
                Method::POST,
                "/api/v1/communities",
                &w.other,
                Some(json!({ "name": "rustaceans" })),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

/// Questions get answers, one accepted; the right people hear of comments, answers
/// and mentions; people edit and delete only their own words.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn comments_thread_answer_and_mention(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let video = w.seed("Ownership", "published", "org", None).await;
    let post = |who: String, body: Value| {
        let app = &w.app;
        async move {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{video}/comments"),
                    &who,
                    Some(body),
                )
                .await;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            assert_eq!(status, StatusCode::CREATED, "{v}");
            id_of(&v)
        }
    };
    let question = post(
        w.other.clone(),
        json!({ "body": "Why does the borrow end here?", "question": true }),
    )
    .await;
    let answer = post(
        w.manager.clone(),
        json!({ "body": "Non-lexical lifetimes, @bob.", "parent_id": question }),
    )
    .await;
    // a reply to a reply joins the thread
    let nested = post(
        w.other.clone(),
        json!({ "body": "Thanks, @maria and @nobody!", "parent_id": answer }),
    )
    .await;

    let threads: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}/comments"), &w.admin, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(threads.as_array().map(Vec::len), Some(1), "{threads}");
    let replies: Vec<Uuid> = threads[0]["replies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(id_of)
        .collect();
    assert_eq!(replies, vec![answer, nested]);
    assert_eq!(threads[0]["is_question"], true);

    // only the question's author, the video's author or a moderator accepts
    let accept = |who: String| {
        let app = &w.app;
        async move {
            app.call(Method::POST, &format!("/api/v1/comments/{answer}/accept"), &who, None)
                .await
        }
    };
    assert_problem(
        accept(w.unrelated_manager.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let accepted: Value = accept(w.other.clone()).await.json().await.unwrap_or_default();
    assert_eq!(accepted["accepted_answer_id"], answer.to_string(), "{accepted}");
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/comments/{question}/accept"),
                &w.other,
                None,
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    // who heard what
    let kinds = |who: String| {
        let app = &w.app;
        async move {
            let inbox: Value = app
                .call(Method::GET, "/api/v1/me/inbox", &who, None)
                .await
                .json()
                .await
                .unwrap_or_default();
            let mut kinds: Vec<String> = inbox["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["kind"].as_str().map(str::to_owned))
                .filter(|kind| kind != "badge") // recognition's, in its own time
                .collect();
            kinds.sort();
            kinds
        }
    };
    assert_eq!(kinds(w.author.clone()).await, vec!["comment", "comment", "comment"]);
    assert_eq!(
        kinds(w.other.clone()).await,
        vec!["answer"],
        "bob: the answer (mentioning him) once"
    );
    assert_eq!(kinds(w.manager.clone()).await, vec!["mention"]);

    // edit and delete: one's own only
    let path = format!("/api/v1/comments/{answer}");
    assert_problem(
        w.app
            .call(
                Method::PATCH,
                &path,
                &w.other,
                Some(json!({ "body": "Edited by someone else" })),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let edited: Value = w
        .app
        .call(
            Method::PATCH,
            &path,
            &w.manager,
            Some(json!({ "body": "Non-lexical lifetimes (NLL)." })),
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(edited["body"], "Non-lexical lifetimes (NLL).");
    assert_problem(
        w.app.call(Method::DELETE, &path, &w.other, None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        w.app.call(Method::DELETE, &path, &w.manager, None).await.status(),
        StatusCode::NO_CONTENT
    );
    let gone: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}/comments"), &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (
            gone[0]["replies"][0]["status"].as_str(),
            gone[0]["replies"][0]["body"].as_str()
        ),
        (Some("deleted"), Some(""))
    );

    // bad input
    for body in [
        json!({ "body": "   " }),
        json!({ "body": "x".repeat(5001) }),
        json!({ "body": "hi", "parent_id": Uuid::now_v7() }),
    ] {
        assert_problem(
            w.app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{video}/comments"),
                    &w.other,
                    Some(body),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}
