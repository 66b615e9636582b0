//! The OpenAPI document against what the API answers.

use super::*;

/// The OpenAPI document covers the API and matches what the API really answers.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_openapi_document_describes_what_the_api_answers(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let fetch = |path: &str| w.app.client.get(format!("{}{path}", w.app.catalog)).send();
    let doc: Value = fetch("/api/v1/openapi.json")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(doc["openapi"], "3.1.0");
    // Each service documents its own routes: the upload service's are in its document.
    let upload_doc: Value = w
        .app
        .client
        .get(format!("{}/api/v1/openapi.json", w.app.upload))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    for (path, method) in [
        ("/api/v1/videos", "post"),
        ("/api/v1/uploads", "post"),
        ("/api/v1/uploads/{id}", "patch"),
        ("/api/v1/uploads/direct", "post"),
    ] {
        assert!(
            upload_doc["paths"][path][method].is_object(),
            "{method} {path} is not in the upload service's document"
        );
        assert!(
            doc["paths"][path][method].is_null(),
            "the catalog documents {method} {path}"
        );
    }
    let form = &upload_doc["components"]["schemas"]["VideoUploadForm"];
    assert_eq!(form["required"], json!(["file", "title"]), "{form}");
    for (path, method) in [
        ("/api/v1/videos", "get"),
        ("/api/v1/videos/{id}", "patch"),
        ("/api/v1/videos/{id}/captions/{lang}", "put"),
        ("/api/v1/communities/{id}/moderators/{user_id}", "delete"),
        ("/api/v1/admin/users:import", "post"),
        ("/api/v1/media/{video_id}/{token}/{path}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    assert_eq!(
        doc["paths"]["/api/v1/media/{video_id}/{token}/{path}"]["get"]["security"],
        json!([])
    );
    let ui = fetch("/api/docs").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap_or_default().contains("/api/v1/openapi.json"));

    // Real answers carry every field the schemas call required.
    let schemas = &doc["components"]["schemas"];
    let conforms = |schema: &str, value: &Value| {
        for field in schemas[schema]["required"].as_array().into_iter().flatten() {
            let field = field.as_str().unwrap_or_default();
            assert!(value.get(field).is_some(), "{schema} lacks `{field}`: {value}");
        }
    };
    let video = w.seed("Documented", "published", "org", Some(w.community)).await;
    let v: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("Video", &v);
    let page: Value = w
        .app
        .call(Method::GET, "/api/v1/videos", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("VideoPage", &page);
    let c: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/communities/{}", w.community),
            &w.author,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("CommunityWithRole", &c);
    let comment: Value = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &w.author,
            Some(json!({ "body": "Hi" })),
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("Comment", &comment);
    conforms("Me", &w.app.me(&w.author).await);
    let inbox: Value = w
        .app
        .call(Method::GET, "/api/v1/me/inbox", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("InboxPage", &inbox);
    let problem: Value = w
        .app
        .call(Method::GET, "/api/v1/videos/nope", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("Problem", &problem);
}
