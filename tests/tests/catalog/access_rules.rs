//! Who may see and do what: the authorisation matrix, and mentions that reach only
//! people who may see the video.

use super::*;

/// Every role against every action, each cell asserted. A 404 means "you cannot even
/// see it"; a 403 "you see it, but may not do this".
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_authorisation_matrix_holds(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let c = Some(w.community);
    let published = w.seed("Borrowing explained", "published", "community", c).await;
    let pending = w.seed("Lifetimes explained", "pending_review", "org", c).await;
    let ready = w.seed("Traits explained", "ready", "org", None).await;
    let org_wide = w.seed("Cargo explained", "published", "org", None).await;

    // read (and with it the signed media URL: only readers ever get one)
    let expectations = [
        (published, [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]),
        (pending, [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]),
        (ready, [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK]),
        (org_wide, [OK, OK, OK, OK, OK, OK]),
    ];
    for (video, wants) in expectations {
        for (who, want) in ROLES.iter().zip(wants) {
            let path = format!("/api/v1/videos/{video}");
            cell(&w, "read", who, Method::GET, &path, None, want).await;
            if want == OK {
                let token = &w.cast().iter().find(|(n, _)| n == who).map(|(_, t)| (*t).to_owned());
                let v: Value = w
                    .app
                    .call(Method::GET, &path, token.as_deref().unwrap_or_default(), None)
                    .await
                    .json()
                    .await
                    .unwrap_or_default();
                assert!(v["playback"]["hls"].is_string(), "media URL for {who}: {v}");
            }
        }
    }

    // edit: the author and admins; a moderator sees it but may not rewrite it
    for (who, want) in ROLES.iter().zip([OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, OK]) {
        let body = json!({ "title": format!("Borrowing, edited by the {who}") });
        cell(
            &w,
            "edit",
            who,
            Method::PATCH,
            &format!("/api/v1/videos/{published}"),
            Some(body),
            want,
        )
        .await;
    }
    // The author's edit sent it back to review (its community's policy is
    // `moderator`): approved again, the rows below see it published.
    let approved = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{published}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);

    // delete: the author, a moderator (remove) and admins; a fresh video for each
    for (who, want) in ROLES
        .iter()
        .zip([NO_CONTENT, NOT_FOUND, NOT_FOUND, NOT_FOUND, NO_CONTENT, NO_CONTENT])
    {
        let video = w.seed("To delete", "published", "community", c).await;
        cell(
            &w,
            "delete",
            who,
            Method::DELETE,
            &format!("/api/v1/videos/{video}"),
            None,
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(
            after == "removed",
            want == NO_CONTENT,
            "delete as {who} left it {after}"
        );
    }

    // publish: the author and admins
    for (who, want) in ROLES.iter().zip([OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK]) {
        let video = w.seed("To publish", "ready", "org", None).await;
        cell(
            &w,
            "publish",
            who,
            Method::POST,
            &format!("/api/v1/videos/{video}/publish"),
            None,
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(after == "published", want == OK, "publish as {who} left it {after}");
    }

    // review under the `moderator` policy: its moderators and admins; the author sees
    // it but may not approve it; the manager is no reviewer here
    for (who, want) in ROLES.iter().zip([FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]) {
        let video = w.seed("To review", "pending_review", "org", c).await;
        let body = json!({ "decision": "approve" });
        cell(
            &w,
            "review",
            who,
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            Some(body),
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(after == "published", want == OK, "review as {who} left it {after}");
    }

    // review under the `manager` policy: the author's manager, not another manager
    let managed = w.create_community(&w.admin, "Managers decide", "manager").await;
    w.join(&w.author, managed).await;
    for (who, want) in ROLES.iter().zip([FORBIDDEN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, OK]) {
        let video = w
            .seed("To review by the manager", "pending_review", "org", Some(managed))
            .await;
        let body = json!({ "decision": "reject", "reason": "Needs captions" });
        cell(
            &w,
            "review",
            who,
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            Some(body),
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(after == "rejected", want == OK, "review as {who} left it {after}");
    }

    // like: whoever can read a published video
    for (who, want) in ROLES.iter().zip([OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]) {
        cell(
            &w,
            "like",
            who,
            Method::PUT,
            &format!("/api/v1/videos/{published}/like"),
            None,
            want,
        )
        .await;
    }

    // comment-remove: moderators of the video's community and admins remove a
    // member's comment; the video's author sees it but may not
    let carol = token("carol", &[]);
    w.app.me(&carol).await;
    w.join(&carol, w.community).await;
    for (who, want) in ROLES
        .iter()
        .zip([FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NO_CONTENT, NO_CONTENT])
    {
        let r = w
            .app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{published}/comments"),
                &carol,
                Some(json!({ "body": "First!" })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let comment = id_of(&r.json().await.unwrap_or_default());
        cell(
            &w,
            "remove comment",
            who,
            Method::DELETE,
            &format!("/api/v1/comments/{comment}"),
            None,
            want,
        )
        .await;
    }

    // comment: whoever can read a published video
    for (who, want) in ROLES.iter().zip([
        StatusCode::CREATED,
        NOT_FOUND,
        NOT_FOUND,
        NOT_FOUND,
        StatusCode::CREATED,
        StatusCode::CREATED,
    ]) {
        let body = json!({ "body": format!("A thought from the {who}") });
        cell(
            &w,
            "comment",
            who,
            Method::POST,
            &format!("/api/v1/videos/{published}/comments"),
            Some(body),
            want,
        )
        .await;
    }

    // captions: the author and admins; a moderator sees the video but may not
    let storage = w.app.storage().await;
    let master = skillreel_storage::ObjectKey::parse(&format!("videos/{published}/media/master.m3u8"))
        .unwrap_or_else(|e| panic!("{e}"));
    skillreel_storage::put_bytes(
        storage.as_ref(),
        &master,
        bytes::Bytes::from_static(
            b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=1\n240p/index.m3u8\n",
        ),
        "application/vnd.apple.mpegurl",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let created = StatusCode::CREATED;
    for (who, want) in ROLES
        .iter()
        .zip([created, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, OK])
    {
        let token = w
            .cast()
            .iter()
            .find(|(n, _)| n == who)
            .map(|(_, t)| (*t).to_owned())
            .unwrap_or_default();
        let r = w
            .app
            .client
            .put(format!("{}/api/v1/videos/{published}/captions/en", w.app.catalog))
            .bearer_auth(token)
            .body("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status();
        assert_eq!(
            status,
            want,
            "captions as {who}: {}",
            r.text().await.unwrap_or_default()
        );
    }

    // a community's settings: its moderators and admins
    for (who, want) in ROLES.iter().zip([FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK]) {
        let body = json!({ "description": format!("Set by the {who}") });
        cell(
            &w,
            "edit community",
            who,
            Method::PATCH,
            &format!("/api/v1/communities/{}", w.community),
            Some(body),
            want,
        )
        .await;
    }

    // without a token, nothing
    let anonymous = w
        .app
        .client
        .get(format!("{}/api/v1/videos/{org_wide}", w.app.catalog))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

/// A mention tells only people who may see the video: its title never reaches an
/// inbox the video itself would not.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_mention_reaches_only_people_who_may_see_the_video(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let video = w
        .seed("Members only", "published", "community", Some(w.community))
        .await;
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &w.author,
            Some(json!({ "body": "@bob and @mo, have a look" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let inbox = |who: String| {
        let app = &w.app;
        async move {
            let inbox: Value = app
                .call(Method::GET, "/api/v1/me/inbox", &who, None)
                .await
                .json()
                .await
                .unwrap_or_default();
            inbox["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["kind"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert!(inbox(w.other.clone()).await.is_empty(), "bob is no member");
    assert_eq!(inbox(w.moderator.clone()).await, vec!["mention"]);
}
