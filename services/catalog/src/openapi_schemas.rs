//! The JSON Schemas (2020-12, as OpenAPI 3.1 uses) of what the API reads and writes.
//! They describe the `Serialize`/`Deserialize` types of this crate and of
//! `skillreel-db`; `tests/tests/catalog.rs` checks real responses against the
//! required fields here, so a renamed field fails a test rather than a client.

use serde_json::{Map, Value, json};

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn page(item: &str) -> Value {
    object(
        &["items"],
        json!({
            "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } },
            "next_cursor": { "type": "string", "description": "absent on the last page" },
        }),
    )
}

fn list(item: &str) -> Value {
    json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } })
}

const ID: &str = r#"{"type":"string","format":"uuid"}"#;
const TIME: &str = r#"{"type":"string","format":"date-time"}"#;

fn id() -> Value {
    serde_json::from_str(ID).unwrap_or(Value::Null)
}

fn time() -> Value {
    serde_json::from_str(TIME).unwrap_or(Value::Null)
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

pub fn schemas() -> Map<String, Value> {
    let mut s = Map::new();
    let mut add = |name: &str, schema: Value| {
        s.insert(name.to_owned(), schema);
    };
    add("Empty", json!({ "type": "object" }));
    add(
        "Problem",
        object(
            &["type", "title", "status", "code"],
            json!({
                "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                "code": { "type": "string", "description": "stable machine-readable reason, e.g. `not_found`, `validation_failed`" },
                "detail": { "type": "string", "description": "what is wrong, for a person" },
            }),
        ),
    );
    let status = json!({ "type": "string", "enum": ["uploading", "processing", "ready", "pending_review", "published", "rejected", "failed", "removed"] });
    add(
        "Video",
        object(
            &[
                "id",
                "title",
                "description",
                "tags",
                "status",
                "owner",
                "visibility",
                "language",
                "like_count",
                "view_count",
                "renditions",
                "created_at",
                "updated_at",
            ],
            json!({
                "id": id(), "title": { "type": "string" }, "description": { "type": "string" },
                "tags": { "type": "array", "items": { "type": "string" } }, "status": status,
                "failure_reason": { "type": "string", "description": "author and admins only" },
                "review_reason": { "type": "string", "description": "author and admins only, after a rejection" },
                "owner": object(&["id", "name"], json!({ "id": id(), "name": { "type": "string" } })),
                "community_id": nullable("string"),
                "visibility": { "type": "string", "enum": ["org", "community", "unlisted"] },
                "language": { "type": "string" },
                "published_at": nullable("string"),
                "like_count": { "type": "integer" }, "view_count": { "type": "integer" },
                "liked": { "type": "boolean", "description": "whether the caller likes it (single video only)" },
                "upload": object(&["received_bytes"], json!({ "received_bytes": { "type": "integer" }, "total_bytes": { "type": "integer" } })),
                "processing": object(&["progress", "playable"], json!({
                    "progress": { "type": "number" }, "playable": { "type": "boolean" },
                    "time_to_playable_seconds": { "type": "number" }, "time_to_complete_seconds": { "type": "number" },
                })),
                "duration_seconds": nullable("number"), "width": nullable("integer"), "height": nullable("integer"),
                "renditions": { "type": "array", "items": object(&["width", "height", "bandwidth"], json!({
                    "width": { "type": "integer" }, "height": { "type": "integer" }, "bandwidth": { "type": "integer" } })) },
                "playback": {
                    "type": ["object", "null"], "required": ["hls"],
                    "properties": { "hls": { "type": "string", "description": "signed URL of the master playlist" }, "storyboard": { "type": "string" } },
                },
                "thumbnail": nullable("string"), "thumbnail_small": nullable("string"),
                "created_at": time(), "updated_at": time(),
            }),
        ),
    );
    add("VideoPage", page("Video"));
    add(
        "VideoPatch",
        json!({ "type": "object", "properties": {
            "title": { "type": "string", "maxLength": 200 }, "description": { "type": "string" },
            "tags": { "type": "array", "items": { "type": "string" } }, "language": { "type": "string" },
            "visibility": { "type": "string", "enum": ["org", "community", "unlisted"] },
            "community": { "type": ["string", "null"], "format": "uuid" } } }),
    );
    add(
        "PublishRequest",
        json!({ "type": "object", "properties": { "community": id(), "visibility": { "type": "string", "enum": ["org", "community", "unlisted"] } } }),
    );
    add(
        "ReviewRequest",
        object(
            &["decision"],
            json!({ "decision": { "type": "string", "enum": ["approve", "reject"] }, "reason": { "type": "string", "description": "required to reject" } }),
        ),
    );
    add(
        "LikeState",
        object(
            &["liked", "like_count"],
            json!({ "liked": { "type": "boolean" }, "like_count": { "type": "integer" } }),
        ),
    );
    add(
        "ViewReport",
        object(
            &["watched_seconds"],
            json!({ "watched_seconds": { "type": "number", "minimum": 0 } }),
        ),
    );
    add(
        "ViewState",
        object(
            &["counted", "view_count"],
            json!({ "counted": { "type": "boolean" }, "view_count": { "type": "integer" } }),
        ),
    );
    add(
        "FlagRequest",
        object(&["reason"], json!({ "reason": { "type": "string" } })),
    );
    add(
        "FlagState",
        object(&["sent_to_review"], json!({ "sent_to_review": { "type": "boolean" } })),
    );
    let comment = object(
        &[
            "id",
            "video_id",
            "author_id",
            "author_name",
            "body",
            "is_question",
            "status",
            "created_at",
            "updated_at",
        ],
        json!({
            "id": id(), "video_id": id(), "author_id": id(), "author_name": { "type": "string" },
            "parent_id": nullable("string"), "body": { "type": "string", "description": "empty once deleted or removed" },
            "is_question": { "type": "boolean" }, "accepted_answer_id": nullable("string"),
            "status": { "type": "string", "enum": ["visible", "deleted", "removed"] },
            "created_at": time(), "updated_at": time(),
        }),
    );
    add("Comment", comment.clone());
    let mut thread = comment;
    thread["properties"]["replies"] = list("Comment");
    add("Thread", thread);
    add("ThreadList", list("Thread"));
    add(
        "NewComment",
        object(
            &["body"],
            json!({ "body": { "type": "string", "maxLength": 5000 }, "parent_id": id(), "question": { "type": "boolean" } }),
        ),
    );
    add(
        "CommentEdit",
        object(&["body"], json!({ "body": { "type": "string", "maxLength": 5000 } })),
    );
    add(
        "Caption",
        object(
            &["language"],
            json!({ "language": { "type": "string" }, "url": nullable("string") }),
        ),
    );
    add("CaptionList", list("Caption"));
    add(
        "CaptionResult",
        object(
            &["language", "languages"],
            json!({ "language": { "type": "string" }, "languages": { "type": "array", "items": { "type": "string" } } }),
        ),
    );
    add(
        "Community",
        object(
            &[
                "id",
                "name",
                "description",
                "approval_policy",
                "member_count",
                "video_count",
                "created_at",
            ],
            json!({
                "id": id(), "name": { "type": "string" }, "description": { "type": "string" },
                "approval_policy": { "type": "string", "enum": ["none", "moderator", "manager"] },
                "member_count": { "type": "integer" }, "video_count": { "type": "integer" }, "created_at": time(),
                "my_role": { "type": "string", "enum": ["member", "moderator"] },
            }),
        ),
    );
    add("CommunityPage", page("Community"));
    add(
        "NewCommunity",
        object(
            &["name"],
            json!({ "name": { "type": "string", "maxLength": 80 }, "description": { "type": "string" },
            "approval_policy": { "type": "string", "enum": ["none", "moderator", "manager"] } }),
        ),
    );
    add(
        "CommunityPatch",
        json!({ "type": "object", "properties": { "description": { "type": "string" }, "approval_policy": { "type": "string", "enum": ["none", "moderator", "manager"] } } }),
    );
    add(
        "Member",
        object(
            &["id", "name", "role", "joined_at"],
            json!({ "id": id(), "name": { "type": "string" }, "role": { "type": "string" }, "joined_at": time() }),
        ),
    );
    add("MemberPage", page("Member"));
    add(
        "Contributor",
        object(
            &["id", "name", "videos", "likes"],
            json!({ "id": id(), "name": { "type": "string" }, "videos": { "type": "integer" }, "likes": { "type": "integer" } }),
        ),
    );
    add("ContributorPage", page("Contributor"));
    let profile = json!({
        "id": id(), "name": { "type": "string" }, "team": nullable("string"),
        "skills": { "type": "array", "items": { "type": "string" } },
        "published_videos": { "type": "integer" }, "likes_received": { "type": "integer" }, "views_received": { "type": "integer" },
    });
    add(
        "Profile",
        object(
            &[
                "id",
                "name",
                "skills",
                "published_videos",
                "likes_received",
                "views_received",
            ],
            profile.clone(),
        ),
    );
    let mut me = profile;
    if let Some(props) = me.as_object_mut() {
        props.insert("subject".into(), json!({ "type": "string" }));
        props.insert(
            "roles".into(),
            json!({ "type": "array", "items": { "type": "string" } }),
        );
        props.insert("manager".into(), nullable("string"));
        props.insert(
            "communities".into(),
            json!({ "type": "array", "items": object(&["id", "name", "role"], json!({ "id": id(), "name": { "type": "string" }, "role": { "type": "string" } })) }),
        );
        props.insert("unread_notifications".into(), json!({ "type": "integer" }));
    }
    add(
        "Me",
        object(
            &["id", "name", "subject", "roles", "communities", "unread_notifications"],
            me,
        ),
    );
    add(
        "Notification",
        object(
            &["id", "kind", "payload", "created_at"],
            json!({
                "id": id(), "kind": { "type": "string", "enum": ["video_ready", "video_failed", "video_approved", "video_rejected", "comment", "answer", "mention"] },
                "video_id": nullable("string"), "payload": { "type": "object" }, "read_at": nullable("string"), "created_at": time(),
            }),
        ),
    );
    let mut inbox = page("Notification");
    inbox["required"] = json!(["items", "unread"]);
    inbox["properties"]["unread"] = json!({ "type": "integer" });
    add("InboxPage", inbox);
    add(
        "Marked",
        object(&["marked"], json!({ "marked": { "type": "integer" } })),
    );
    add(
        "Job",
        object(
            &[
                "id",
                "queue",
                "status",
                "attempts",
                "max_attempts",
                "payload",
                "progress",
                "run_at",
                "created_at",
                "updated_at",
            ],
            json!({
                "id": id(), "queue": { "type": "string" }, "status": { "type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"] },
                "attempts": { "type": "integer" }, "max_attempts": { "type": "integer" }, "last_error": nullable("string"),
                "payload": { "type": "object" }, "progress": { "type": "number" },
                "time_to_playable_ms": nullable("integer"), "time_to_complete_ms": nullable("integer"),
                "run_at": time(), "created_at": time(), "updated_at": time(),
            }),
        ),
    );
    add("JobPage", page("Job"));
    add(
        "RetriedJob",
        object(
            &["id", "status"],
            json!({ "id": id(), "status": { "type": "string" }, "video_id": id() }),
        ),
    );
    add(
        "ImportRows",
        json!({ "type": "array", "items": object(&["id", "name"], json!({
            "id": { "type": "string", "description": "the person's login (token `sub`)" }, "name": { "type": "string" },
            "email": { "type": "string" }, "manager": { "type": "string" }, "team": { "type": "string" },
            "roles": { "type": "array", "items": { "type": "string", "enum": ["employee", "manager", "moderator", "admin"] } } })) }),
    );
    add(
        "ImportResult",
        object(
            &["created", "updated"],
            json!({ "created": { "type": "integer" }, "updated": { "type": "integer" } }),
        ),
    );
    let webhook = json!({ "id": id(), "url": { "type": "string" }, "events": { "type": "array", "items": { "type": "string" } }, "created_at": time() });
    add(
        "Webhook",
        object(&["id", "url", "events", "created_at"], webhook.clone()),
    );
    add("WebhookList", list("Webhook"));
    let mut created = webhook;
    if let Some(props) = created.as_object_mut() {
        props.insert(
            "secret".into(),
            json!({ "type": "string", "description": "`whsec_…`, shown once" }),
        );
    }
    add(
        "CreatedWebhook",
        object(&["id", "url", "events", "created_at", "secret"], created),
    );
    add(
        "NewWebhook",
        object(
            &["url"],
            json!({ "url": { "type": "string", "format": "uri" }, "events": { "type": "array", "items": { "type": "string" } } }),
        ),
    );
    add(
        "Delivery",
        object(
            &["id", "event", "status", "attempts", "created_at"],
            json!({ "id": id(), "event": { "type": "string" }, "status": { "type": "string", "enum": ["pending", "delivered", "failed"] },
                "attempts": { "type": "integer" }, "last_error": nullable("string"), "created_at": time(), "delivered_at": nullable("string") }),
        ),
    );
    add("DeliveryList", list("Delivery"));
    add(
        "VideoUploadForm",
        object(
            &["file", "title"],
            json!({ "file": { "type": "string", "format": "binary" }, "title": { "type": "string" },
            "description": { "type": "string" }, "tags": { "type": "string", "description": "comma-separated" } }),
        ),
    );
    add(
        "DirectUpload",
        object(
            &["size", "title"],
            json!({ "size": { "type": "integer", "description": "the file's exact size in bytes" },
            "title": { "type": "string" }, "description": { "type": "string" }, "tags": { "type": "string", "description": "comma-separated" },
            "filename": { "type": "string" }, "filetype": { "type": "string" },
            "part_size": { "type": "integer", "description": "5 MiB to 5 GiB, default 16 MiB" } }),
        ),
    );
    add(
        "DirectUploadStarted",
        object(
            &[
                "upload_id",
                "video_id",
                "part_size",
                "parts",
                "complete_url",
                "expires_at",
            ],
            json!({
            "upload_id": id(), "video_id": id(), "part_size": { "type": "integer" },
            "parts": { "type": "array", "items": object(&["number", "url"], json!({ "number": { "type": "integer" }, "url": { "type": "string" } })) },
            "complete_url": { "type": "string" }, "expires_at": time() }),
        ),
    );
    add(
        "DirectComplete",
        object(
            &["parts"],
            json!({ "parts": { "type": "array", "items": object(&["number", "etag"], json!({ "number": { "type": "integer" }, "etag": { "type": "string" } })) } }),
        ),
    );
    add(
        "DirectCompleted",
        object(
            &["video_id", "status"],
            json!({ "video_id": id(), "status": { "type": "string" } }),
        ),
    );
    s
}
