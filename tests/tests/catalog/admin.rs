//! Operators: webhooks and the org-chart import.

use super::*;

/// A signed delivery, retried after a 500, and never again once it succeeded.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn webhooks_are_signed_retried_and_not_duplicated(_: PgPoolOptions, db: PgConnectOptions) {
    use base64::Engine;
    use hmac::Mac;
    // The receiver listens on loopback, which webhooks may reach only when allowed.
    let w = world(&db, |s| s.catalog.webhook_allowed_hosts = vec!["127.0.0.1".into()]).await;
    let (url, seen) = receiver().await;
    assert_problem(
        w.app
            .call(
                Method::POST,
                "/api/v1/admin/webhooks",
                &w.author,
                Some(json!({ "url": url })),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    for bad in [
        json!({ "url": "ftp://example.org" }),
        json!({ "url": url, "events": ["everything"] }),
    ] {
        assert_problem(
            w.app
                .call(Method::POST, "/api/v1/admin/webhooks", &w.admin, Some(bad))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    let created = w
        .app
        .call(
            Method::POST,
            "/api/v1/admin/webhooks",
            &w.admin,
            Some(json!({ "url": url, "events": ["video_approved"] })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let hook: Value = created.json().await.unwrap_or_default();
    let secret = hook["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");

    // A comment (not subscribed) and an approval (subscribed).
    let video = w.seed("Hooked", "pending_review", "org", Some(w.community)).await;
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &w.other,
            Some(json!({ "body": "Nice" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // The first attempt gets a 500; the retry (after about a second) a 200.
    for _ in 0..100 {
        if seen.lock().await.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let seen = seen.lock().await;
    assert_eq!(seen.len(), 2, "one failed attempt, one success, nothing after");
    let header = |i: usize, name: &str| {
        seen[i]
            .0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header(0, "webhook-id"), header(1, "webhook-id"), "a retry keeps its id");
    for i in 0..2 {
        let (id, timestamp, body) = (header(i, "webhook-id"), header(i, "webhook-timestamp"), &seen[i].1);
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .unwrap_or_default();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap_or_else(|e| panic!("{e}"));
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        let expected = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(header(i, "webhook-signature"), expected, "signature of attempt {i}");
        let event: Value = serde_json::from_slice(body).unwrap_or_default();
        assert_eq!(event["type"], "video_approved", "{event}");
        assert_eq!(event["data"]["video_id"], video.to_string());
        assert_eq!(event["data"]["details"]["title"], "Hooked");
    }
    let deliveries: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{}/deliveries", id_of(&hook)),
            &w.admin,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries}");
    assert_eq!(deliveries[0]["attempts"], 2);
}

/// The org chart, as CSV or JSON: all rows or none; a manager imported here approves
/// under the `manager` policy even if their report's token has no `manager` claim.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_admin_imports_the_org_chart(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let import = |who: String, content_type: &'static str, body: String| {
        let app = &w.app;
        async move {
            app.client
                .post(format!("{}/api/v1/admin/users:import", app.catalog))
                .bearer_auth(who)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let csv = "id,name,email,manager,team,roles\nzoe,\"Zoe, Lead\",zoe@example.org,,Platform,manager\nyan,Yan,,zoe,Platform,employee\n";
    assert_problem(
        import(w.other.clone(), "text/csv", csv.into()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let done: Value = import(w.admin.clone(), "text/csv", csv.into())
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (done["created"].as_u64(), done["updated"].as_u64()),
        (Some(2), Some(0)),
        "{done}"
    );
    let again: Value = import(
        w.admin.clone(),
        "application/json",
        json!([{ "id": "yan", "name": "Yan Li", "manager": "zoe", "team": "Data", "roles": ["employee"] }]).to_string(),
    )
    .await
    .json()
    .await
    .unwrap_or_default();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(1))
    );

    // Bad files change nothing, and say which rows are wrong.
    let bad = "id,name,roles\nann,Ann,employee\n,Nameless,\ncid,Cid,wizard\n";
    let problem = assert_problem(
        import(w.admin.clone(), "text/csv", bad.into()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("row 3") && detail.contains("row 4") && detail.contains("wizard"),
        "{detail}"
    );
    let ann: i64 = sqlx::query_scalar("select count(*) from app_user where subject = 'ann'")
        .fetch_one(&w.pool)
        .await
        .unwrap_or(-1);
    assert_eq!(ann, 0, "a refused import created someone");
    assert_problem(
        import(w.admin.clone(), "application/xml", "<x/>".into()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        import(w.admin.clone(), "application/json", "{".into()).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    // Yan signs in with a token that names no manager: the imported one still counts.
    let yan = token("yan", &[]);
    let me = w.app.me(&yan).await;
    assert_eq!(
        (me["manager"].as_str(), me["team"].as_str()),
        (Some("zoe"), Some("Data")),
        "{me}"
    );
    let managed = w.create_community(&w.admin, "Managers decide", "manager").await;
    w.join(&yan, managed).await;
    let video = w
        .seed_for(id_of(&me), "By Yan", "pending_review", "org", Some(managed), "en", &[])
        .await;
    let zoe = token("zoe", &["manager"]);
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            &zoe,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}
