//! People of other instances, as the authors of what comes from there: each is an
//! `app_user` row marked with its `origin` and actor id, under a `remote:` subject that
//! no token may carry, so their videos, journeys and comments sit beside ours.

use serde_json::Value;
use skillreel_auth::REMOTE_SUBJECT_PREFIX;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::FederationContext;
use crate::objects::id_of;
use crate::remote::{self, FetchError};

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
/// gives a new name. Someone first seen without a name is shown as their instance
/// until a job has fetched their actor document for it ([`learn_name`]).
pub async fn remote_person(
    conn: &mut PgConnection,
    host: &str,
    actor: &str,
    name: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    let person = sqlx::query!(
        r#"
        insert into app_user as u (id, subject, name, roles, origin, actor_id)
        values ($1, $2 || $3, coalesce($5, $4), '{}', $4, $3)
        on conflict (actor_id) do update
           set name = coalesce($5, u.name), updated_at = now()
        returning id, (xmax = 0) as "created!"
        "#,
        Uuid::now_v7(),
        REMOTE_SUBJECT_PREFIX,
        actor,
        host,
        name,
    )
    .fetch_one(&mut *conn)
    .await?;
    if person.created && name.is_none() {
        let job = crate::delivery::Job::Person {
            host: host.to_owned(),
            actor: actor.to_owned(),
        };
        crate::delivery::enqueue(conn, &job)
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    }
    Ok(person.id)
}

/// The name an actor document gives (`name`, else `preferredUsername`), if usable.
fn name_in(document: &Value) -> Option<String> {
    ["name", "preferredUsername"]
        .iter()
        .filter_map(|field| document.get(*field).and_then(Value::as_str))
        .map(|n| {
            n.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .find(|n| !n.is_empty())
}

/// Fetches `actor`'s document (signed) and names them after it; `Ok(false)` when it
/// gives no name or is not that actor.
pub async fn learn_name(ctx: &FederationContext, host: &str, actor: &str) -> Result<bool, FetchError> {
    let url = remote::parse_url(actor)?;
    let document = remote::get_json(ctx, &url, crate::objects::ACCEPT).await?;
    if document.get("id").and_then(Value::as_str) != Some(actor) {
        return Ok(false);
    }
    let Some(name) = name_in(&document) else {
        return Ok(false);
    };
    let renamed = sqlx::query!(
        "update app_user set name = $3, updated_at = now() where actor_id = $1 and origin = $2 and name <> $3",
        actor,
        host,
        name,
    )
    .execute(&ctx.pool)
    .await?;
    Ok(renamed.rows_affected() > 0)
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

    #[test]
    fn a_name_is_read_from_an_actor_document() {
        assert_eq!(
            name_in(&json!({"name": " Paul ", "preferredUsername": "paul"})),
            Some("Paul".into())
        );
        assert_eq!(
            name_in(&json!({"name": "", "preferredUsername": "paul"})),
            Some("paul".into())
        );
        assert_eq!(name_in(&json!({"name": "\u{7}"})), None);
        assert_eq!(name_in(&json!({})), None);
    }
}
