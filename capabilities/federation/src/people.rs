//! People of other instances, as the authors of what comes from there: each is an
//! `app_user` row marked with its `origin` and actor id, under a `remote:` subject that
//! no token may carry, so their videos, journeys and comments sit beside ours.

use serde_json::Value;
use skillreel_auth::REMOTE_SUBJECT_PREFIX;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::objects::id_of;

/// Who an object says made it: the first actor it is attributed to, and the name the
/// object gives them (Skillreel embeds `{"type": "Person", "id", "name"}`; others name
/// the actor by id alone).
pub fn author_of(object: &Value) -> Option<(String, Option<String>)> {
    let first = match object.get("attributedTo") {
        Some(Value::Array(all)) => all.iter().find(|a| id_of(a).is_some())?,
        Some(one) => one,
        None => return None,
    };
    let name = first
        .get("name")
        .or_else(|| first.get("preferredUsername"))
        .and_then(Value::as_str)
        .map(|n| n.trim().chars().take(100).collect::<String>())
        .filter(|n| !n.is_empty());
    Some((id_of(first)?.to_owned(), name))
}

/// The row standing for `actor` of `host`: made on first sight, renamed when the origin
/// gives a new name. Without a name, the person is shown as their instance.
pub async fn remote_person(
    conn: &mut PgConnection,
    host: &str,
    actor: &str,
    name: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        insert into app_user as u (id, subject, name, roles, origin, actor_id)
        values ($1, $2 || $3, coalesce($5, $4), '{}', $4, $3)
        on conflict (actor_id) do update
           set name = coalesce($5, u.name), updated_at = now()
        returning id
        "#,
        Uuid::now_v7(),
        REMOTE_SUBJECT_PREFIX,
        actor,
        host,
        name,
    )
    .fetch_one(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_author_is_the_first_attributed_actor_with_the_name_given() {
        let embedded = json!({"attributedTo": [{"type": "Person", "id": "https://a.example/p/1", "name": " Ana "}]});
        assert_eq!(
            author_of(&embedded),
            Some(("https://a.example/p/1".into(), Some("Ana".into())))
        );
        let plain = json!({"attributedTo": ["https://a.example/p/1", "https://a.example/c/1"]});
        assert_eq!(author_of(&plain), Some(("https://a.example/p/1".into(), None)));
        assert_eq!(
            author_of(&json!({"attributedTo": "https://a.example/p/2"})).map(|a| a.0),
            Some("https://a.example/p/2".into())
        );
        assert_eq!(author_of(&json!({"name": "x"})), None);
    }
}
