//! The ActivityStreams objects this instance sends and reads, as plain serde types
//! (the fediverse's JSON-LD is read as JSON with the compact names everyone uses; no
//! JSON-LD processing, as Mastodon and PeerTube do).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Instance;

/// The media type of ActivityPub documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// What a fetch asks for (either form is ActivityPub).
pub const ACCEPT: &str =
    "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// A 200 with an ActivityPub document.
pub fn activity_json(document: &Value) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(format!("{ACTIVITY_JSON}; charset=utf-8"))
        .json(document)
}

/// `@context` of what we send: ActivityStreams and the security vocabulary (keys).
pub fn context() -> Value {
    json!(["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"])
}

/// An actor's public key, as actors publish it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub id: String,
    pub owner: String,
    pub public_key_pem: String,
}

/// Where an actor's instance takes deliveries for all its actors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_inbox: Option<String>,
}

/// An actor as we read it from another instance (what delivery and verification
/// need; the rest is ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteActor {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub inbox: String,
    #[serde(default)]
    pub endpoints: Option<Endpoints>,
    #[serde(default)]
    pub public_key: Option<PublicKey>,
}

/// The instance actor: an `Application` with the collections ActivityPub expects.
pub fn instance_actor(instance: &Instance, public_key_pem: &str, name: &str) -> Value {
    let id = instance.actor_id();
    json!({
        "@context": context(),
        "id": id,
        "type": "Application",
        "preferredUsername": instance.host(),
        "name": name,
        "summary": "A Skillreel instance: short learning videos and journeys, shared with partner instances.",
        "url": instance.origin(),
        "inbox": format!("{id}/inbox"),
        "outbox": instance.collection("outbox"),
        "followers": instance.collection("followers"),
        "following": instance.collection("following"),
        "endpoints": Endpoints { shared_inbox: Some(instance.inbox()) },
        "manuallyApprovesFollowers": true,
        "publicKey": PublicKey {
            id: instance.key_id(),
            owner: id.clone(),
            public_key_pem: public_key_pem.to_owned(),
        },
    })
}

/// A person of this instance, as videos and journeys attribute their authors. People
/// do not sign: the instance actor signs for all of them.
pub fn person(instance: &Instance, user: uuid::Uuid, name: &str) -> Value {
    let id = instance.person_id(user);
    json!({
        "@context": context(),
        "id": id,
        "type": "Person",
        "preferredUsername": user.to_string(),
        "name": name,
        "inbox": instance.inbox(),
        "outbox": format!("{id}/outbox"),
        "endpoints": Endpoints { shared_inbox: Some(instance.inbox()) },
    })
}

/// An activity from this instance's actor.
pub fn activity(instance: &Instance, kind: &str, object: Value, to: &str) -> Value {
    json!({
        "@context": context(),
        "id": instance.new_activity_id(),
        "type": kind,
        "actor": instance.actor_id(),
        "object": object,
        "to": [to],
    })
}

/// An empty-bodied `OrderedCollection` with its size.
pub fn collection(id: &str, total: i64) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
        "orderedItems": [],
    })
}

/// The id of a value that is either an IRI or an object with an `id`.
pub fn id_of(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// An incoming activity's envelope: what every activity must have.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub id: String,
    pub kind: String,
    pub actor: String,
    pub object: Value,
}

impl Incoming {
    /// Reads the envelope, or says what is missing.
    pub fn read(document: &Value) -> Result<Self, &'static str> {
        let object = document.as_object().ok_or("an activity is a JSON object")?;
        let id = object
            .get("id")
            .and_then(Value::as_str)
            .ok_or("the activity has no `id`")?;
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            // A list of types: the first is the ActivityStreams one by convention.
            Some(Value::Array(kinds)) => kinds
                .first()
                .and_then(Value::as_str)
                .ok_or("the activity has no `type`")?
                .to_owned(),
            _ => return Err("the activity has no `type`"),
        };
        let actor = object
            .get("actor")
            .and_then(id_of)
            .ok_or("the activity has no `actor`")?;
        Ok(Self {
            id: id.to_owned(),
            kind,
            actor: actor.to_owned(),
            object: object.get("object").cloned().unwrap_or(Value::Null),
        })
    }
}

/// A WebFinger answer (RFC 7033) pointing at an actor.
pub fn webfinger(subject: &str, actor: &str, profile: &str) -> Value {
    json!({
        "subject": subject,
        "aliases": [actor],
        "links": [
            { "rel": "self", "type": ACTIVITY_JSON, "href": actor },
            { "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile },
        ],
    })
}

/// The names of an object's `Hashtag` tags, without their `#`: at most 20, each cut
/// to 40 characters.
pub fn hashtags(object: &Value) -> Vec<String> {
    object
        .get("tag")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter(|t| t.get("type").and_then(Value::as_str) == Some("Hashtag"))
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .map(|n| n.trim_start_matches('#').chars().take(40).collect::<String>())
                .filter(|n| !n.is_empty())
                .take(20)
                .collect()
        })
        .unwrap_or_default()
}

/// An RFC 3339 instant an object names (`published`, `updated`).
pub fn time_of(object: &Value, name: &str) -> Option<time::OffsetDateTime> {
    object
        .get(name)
        .and_then(Value::as_str)
        .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_needs_id_type_and_actor() {
        let ok = json!({"id": "https://a/x", "type": "Follow", "actor": {"id": "https://a/actor"}, "object": "https://b/actor"});
        let read = Incoming::read(&ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((read.kind.as_str(), read.actor.as_str()), ("Follow", "https://a/actor"));
        assert_eq!(id_of(&read.object), Some("https://b/actor"));
        assert!(Incoming::read(&json!([1])).is_err());
        assert!(Incoming::read(&json!({"type": "Follow", "actor": "a"})).is_err());
        assert!(Incoming::read(&json!({"id": "x", "actor": "a"})).is_err());
        assert!(Incoming::read(&json!({"id": "x", "type": 3, "actor": "a"})).is_err());
        assert!(Incoming::read(&json!({"id": "x", "type": "Like"})).is_err());
    }
}
