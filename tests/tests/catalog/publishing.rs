//! Publishing under each approval policy, flags and re-review after edits.

use super::*;

/// Publishing follows the community's policy; reviewers find it in their queue; the
/// author hears the decision.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn publishing_follows_each_approval_policy(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let publish = |video: Uuid, body: Value| {
        let app = &w.app;
        let who = w.author.clone();
        async move {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{video}/publish"),
                    &who,
                    Some(body),
                )
                .await;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{v}");
            v
        }
    };
    // no community: published at once, and others find it
    let open = w.seed("Open", "ready", "org", None).await;
    assert_eq!(publish(open, json!({})).await["status"], "published");
    let listed: Value = w
        .app
        .call(Method::GET, "/api/v1/videos", &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(listed["items"][0]["id"], open.to_string());

    // policy `moderator`: pending, in the moderator's queue, approved
    let moderated = w.seed("Moderated", "ready", "org", None).await;
    let v = publish(
        moderated,
        json!({ "community": w.community, "visibility": "community" }),
    )
    .await;
    assert_eq!(v["status"], "pending_review");
    let queue: Value = w
        .app
        .call(Method::GET, "/api/v1/reviews", &w.moderator, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(queue["items"][0]["id"], moderated.to_string(), "{queue}");
    let empty: Value = w
        .app
        .call(Method::GET, "/api/v1/reviews", &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(empty["items"], json!([]));
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{moderated}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // policy `manager`: the author's manager rejects with a reason; the author edits
    // and publishes again
    let managed = w.create_community(&w.admin, "Managers decide", "manager").await;
    w.join(&w.author, managed).await;
    let video = w.seed("Managed", "ready", "org", None).await;
    assert_eq!(
        publish(video, json!({ "community": managed })).await["status"],
        "pending_review"
    );
    let queue: Value = w
        .app
        .call(Method::GET, "/api/v1/reviews", &w.manager, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(queue["items"][0]["id"], video.to_string(), "{queue}");
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{video}/review"),
                &w.manager,
                Some(json!({ "decision": "reject" })),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            &w.manager,
            Some(json!({ "decision": "reject", "reason": "Please add a summary" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mine: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (mine["status"].as_str(), mine["review_reason"].as_str()),
        (Some("rejected"), Some("Please add a summary"))
    );
    let theirs: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &w.manager, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert!(
        theirs["status"].is_null() || theirs["review_reason"].is_null(),
        "{theirs}"
    );
    assert_eq!(publish(video, json!({})).await["status"], "pending_review");

    // the inbox tells the author both decisions
    let inbox: Value = w
        .app
        .call(Method::GET, "/api/v1/me/inbox", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let kinds: Vec<&str> = inbox["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["kind"].as_str())
        .filter(|kind| *kind != "badge") // recognition's, in its own time
        .collect();
    assert_eq!(kinds, vec!["video_rejected", "video_approved"], "{inbox}");
    assert_eq!(inbox["items"][0]["payload"]["reason"], "Please add a summary");

    // publishing twice, or into a community one has not joined, is refused
    assert_problem(
        w.app
            .call(Method::POST, &format!("/api/v1/videos/{open}/publish"), &w.author, None)
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let elsewhere = w.create_community(&w.other, "Closed circle", "none").await;
    let video = w.seed("Sneaky", "ready", "org", None).await;
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{video}/publish"),
                &w.author,
                Some(json!({ "community": elsewhere })),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

/// Flags from enough people send a video back to review; a view counts once, after 10 s.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn flags_send_a_video_back_to_review_and_views_count_once(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |s| s.catalog.flag_threshold = 2).await;
    let video = w.seed("Controversial", "published", "org", None).await;
    let flag = |who: String| {
        let app = &w.app;
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/videos/{video}/flag"),
                &who,
                Some(json!({ "reason": "Outdated advice" })),
            )
            .await
        }
    };
    let first: Value = flag(w.other.clone()).await.json().await.unwrap_or_default();
    assert_eq!(first["sent_to_review"], false);
    // the same person twice still counts once
    let again: Value = flag(w.other.clone()).await.json().await.unwrap_or_default();
    assert_eq!(again["sent_to_review"], false);
    assert_problem(flag(w.author.clone()).await, StatusCode::CONFLICT, "conflict").await;
    let second: Value = flag(w.manager.clone()).await.json().await.unwrap_or_default();
    assert_eq!(second["sent_to_review"], true);
    assert_eq!(w.status_of(video).await, "pending_review");

    let watched = w.seed("Watched", "published", "org", None).await;
    let view = |who: String, seconds: f64| {
        let app = &w.app;
        async move {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{watched}/views"),
                    &who,
                    Some(json!({ "watched_seconds": seconds })),
                )
                .await;
            r.json::<Value>().await.unwrap_or_default()
        }
    };
    assert_eq!(view(w.other.clone(), 4.0).await["counted"], false);
    assert_eq!(view(w.other.clone(), 12.0).await["counted"], true);
    assert_eq!(view(w.other.clone(), 30.0).await["counted"], false);
    let last = view(w.manager.clone(), 10.0).await;
    assert_eq!(
        (last["counted"].as_bool(), last["view_count"].as_i64()),
        (Some(true), Some(2))
    );
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{watched}/views"),
                &w.other,
                Some(json!({ "watched_seconds": -1 })),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

/// An author's edit of what a reviewer approved goes back to review where the
/// community's policy asks for one; an unchanged value, an admin's edit, or a video
/// under no review policy stays published.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn editing_an_approved_video_sends_it_back_to_review_where_the_policy_asks(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let w = world(&db, |_| {}).await;
    let patch = |who: String, video: Uuid, body: Value| {
        let app = &w.app;
        async move {
            let r = app
                .call(Method::PATCH, &format!("/api/v1/videos/{video}"), &who, Some(body))
                .await;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{v}");
            v["status"].as_str().unwrap_or_default().to_owned()
        }
    };
    let reviewed = w.seed("Lifetimes", "published", "org", Some(w.community)).await;
    assert_eq!(
        patch(w.author.clone(), reviewed, json!({ "title": "Lifetimes" })).await,
        "published",
        "the same title is no change"
    );
    assert_eq!(
        patch(
            w.admin.clone(),
            reviewed,
            json!({ "description": "Tidied by an admin" })
        )
        .await,
        "published"
    );
    assert_eq!(
        patch(
            w.author.clone(),
            reviewed,
            json!({ "title": "Lifetimes, now with a link to my shop" })
        )
        .await,
        "pending_review"
    );
    let r = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{reviewed}"), &w.other, None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "others wait for the review");
    let approved = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{reviewed}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);

    let open = w.seed("Traits", "published", "org", None).await;
    assert_eq!(
        patch(w.author.clone(), open, json!({ "tags": ["rust", "traits"] })).await,
        "published",
        "no community: no review policy"
    );
}
