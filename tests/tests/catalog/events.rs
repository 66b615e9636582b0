//! What the API records as domain events: one per change, in the changing
//! transaction, with the actor and the object; nothing for a request that changed
//! nothing.

use super::*;

/// `(kind, actor, object)` of every event so far, in position order.
async fn recorded(pool: &PgPool) -> Vec<(String, Option<Uuid>, Uuid)> {
    // (recognition's badges are notified in their own time: not what this is about)
    sqlx::query_as(
        "select kind, actor_id, object_id from domain_event
          where payload->>'notification_kind' is distinct from 'badge' order by position",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn publishing_liking_and_commenting_are_recorded_once_each_in_order(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let bob = id_of(&w.app.me(&w.other).await);
    let video = w.seed("Events", "ready", "org", None).await;
    let call = |method: Method, path: String, who: &str, body: Option<Value>| {
        let (app, who) = (&w.app, who.to_owned());
        async move { app.call(method, &path, &who, body).await.status() }
    };

    let published = call(Method::POST, format!("/api/v1/videos/{video}/publish"), &w.author, None).await;
    assert_eq!(published, StatusCode::OK);
    // Liking twice is one like; unliking what one does not like is nothing.
    for _ in 0..2 {
        assert_eq!(
            call(Method::PUT, format!("/api/v1/videos/{video}/like"), &w.other, None).await,
            StatusCode::OK
        );
    }
    for _ in 0..2 {
        let unliked = call(Method::DELETE, format!("/api/v1/videos/{video}/like"), &w.other, None).await;
        assert_eq!(unliked, StatusCode::OK);
    }
    let commented = call(
        Method::POST,
        format!("/api/v1/videos/{video}/comments"),
        &w.other,
        Some(json!({ "body": "Useful, thanks" })),
    )
    .await;
    assert_eq!(commented, StatusCode::CREATED);
    // A refused request records nothing.
    let refused = call(Method::POST, format!("/api/v1/videos/{video}/publish"), &w.other, None).await;
    assert_eq!(refused, StatusCode::FORBIDDEN);

    let events = recorded(&w.pool).await;
    let kinds: Vec<&str> = events.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "video.published",
            "video.liked",
            "video.unliked",
            "notification.created",
            "comment.created"
        ],
        "{events:?}"
    );
    assert_eq!(events[0].1, Some(w.author_id));
    assert_eq!(events[1].1, Some(bob));
    assert!(events[..3].iter().all(|(_, _, object)| *object == video));
    assert_eq!(events[4].1, Some(bob));
}
