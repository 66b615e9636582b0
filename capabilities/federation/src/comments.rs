//! Comments across instances, as `Note`s with `inReplyTo`.
//!
//! - A person here comments on a partner's video like on any other: the
//!   `comment.created` event has its origin sent `Create{Note}` (`comment.updated` an
//!   `Update{Note}`, `comment.deleted` a `Delete`), by this instance on that person's
//!   behalf.
//! - Comments made here on our own federated videos go to the instances that follow
//!   this one, so partners see the discussion beside the video.
//! - A partner's `Note` in reply to one of our federated videos (or to a comment on
//!   one) is kept as a comment by its remote author, and the video's author hears of
//!   it; a `Note` on a partner's video is taken from that video's origin alone.
//!
//! The text travels as HTML (`<p>`, escaped) and is read back as plain text.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::{UserId, VideoId};
use skillreel_queue::QueueError;
use skillreel_web::ApiError;
use sqlx::PgConnection;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::objects::{self, Incoming, id_of};
use crate::people::{author_of, remote_person};
use crate::remote::host_of;
use crate::store::Actor;
use crate::{FederationContext, delivery, inbox, likes};

/// Longest comment kept, in characters (as for local comments).
const MAX_BODY: usize = 5000;

/// What happened to a comment made here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Deleted,
}

/// A comment made here as partners know it.
struct Outgoing {
    /// The `Note`, without its audience.
    note: Value,
    /// Its author, as partners name them.
    person: String,
    /// Not deleted or removed.
    visible: bool,
    /// Who is told of it: the origin of the partner's video it is on (`host`), or the
    /// instances following this one (`None`, on our own federated video).
    origin: Option<String>,
}

/// The comment as partners know it: one made here on a partner's video, or on our own
/// published federated video; `None` for anything else (a partner's words, a comment
/// partners never see).
async fn outgoing(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    comment: Uuid,
) -> Result<Option<Outgoing>, sqlx::Error> {
    let Some(c) = sqlx::query!(
        r#"
        select c.id, c.body, c.created_at, c.status, u.id as author, u.name as author_name,
               u.origin as author_origin, v.id as video, v.origin as video_origin, v.origin_id as video_origin_id,
               v.status as video_status, v.visibility, p.id as "parent?", p.origin_id as parent_origin_id
          from comment c
          join app_user u on u.id = c.author_id
          join video v on v.id = c.video_id
          left join comment p on p.id = c.parent_id
         where c.id = $1
        "#,
        comment
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let ours = c.video_origin.is_none() && c.video_status == "published" && c.visibility == "federated";
    if c.author_origin.is_some() || (c.video_origin.is_none() && !ours) {
        return Ok(None);
    }
    let instance = &ctx.instance;
    let person = instance.person_id(c.author);
    let in_reply_to = match (c.parent, c.parent_origin_id) {
        (Some(_), Some(remote)) => remote,
        (Some(parent), None) => instance.comment_id(parent),
        (None, _) => c.video_origin_id.unwrap_or_else(|| instance.video_id(c.video)),
    };
    Ok(Some(Outgoing {
        note: json!({
            "id": instance.comment_id(c.id),
            "type": "Note",
            "attributedTo": { "type": "Person", "id": person, "name": c.author_name },
            "inReplyTo": in_reply_to,
            "content": html(&c.body),
            "mediaType": "text/html",
            "published": c.created_at.format(&Rfc3339).ok(),
        }),
        person,
        visible: c.status == "visible",
        origin: c.video_origin,
    }))
}

/// Tells partners of a comment made here: its video's origin when the video is a
/// partner's, the instances following this one when it is our own federated video.
pub async fn tell(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    comment: Uuid,
    change: Change,
) -> Result<(), QueueError> {
    let Some(Outgoing {
        mut note,
        person,
        visible,
        origin,
    }) = outgoing(ctx, &mut *conn, comment).await?
    else {
        return Ok(());
    };
    if change != Change::Deleted && !visible {
        // A comment already gone is not announced.
        return Ok(());
    }
    let (to, inbox) = match origin {
        Some(host) => match likes::origin_actor(&mut *conn, &host).await? {
            Some(actor) => (actor.id.clone(), Some((host, actor.delivery_inbox().to_owned()))),
            None => return Ok(()),
        },
        None => (ctx.instance.collection("followers"), None),
    };
    let object = if change == Change::Deleted {
        json!({ "id": note["id"], "type": "Tombstone", "formerType": "Note" })
    } else {
        note["to"] = json!([to]);
        note
    };
    let activity = json!({
        "@context": objects::context(),
        "id": ctx.instance.new_activity_id(),
        "type": match change {
            Change::Created => "Create",
            Change::Updated => "Update",
            Change::Deleted => "Delete",
        },
        "actor": person,
        "object": object,
        "to": [to],
    });
    match inbox {
        Some((host, inbox)) => delivery::send(conn, &host, &inbox, activity).await,
        None => delivery::to_followers(conn, &activity).await.map(|_| ()),
    }
}

/// `GET /federation/comments/{id}`: a comment made here that partners were sent, for
/// partners (signed fetch), so its id names something; `404` for anything else and
/// for a deleted comment.
pub async fn object(
    req: HttpRequest,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = inbox::fetched_id(&req, &ctx, &path, "comment").await?;
    let mut conn = ctx.pool.acquire().await?;
    let Some(Outgoing {
        mut note,
        visible: true,
        ..
    }) = outgoing(&ctx, &mut conn, id).await?
    else {
        return Err(ApiError::not_found("comment"));
    };
    note["@context"] = objects::context();
    Ok(objects::activity_json(&note))
}

/// Applies a `Note` activity from `signer`; `Ok(false)` when it is not one.
pub async fn apply(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    signer: &Actor,
    activity: &Incoming,
) -> Result<bool, ApiError> {
    let is_note = activity.object.get("type").and_then(Value::as_str) == Some("Note");
    match activity.kind.as_str() {
        "Create" if is_note => {
            receive(ctx, conn, signer, &activity.object).await?;
            Ok(true)
        }
        "Update" if is_note => {
            let note = read_note(&activity.object, &signer.host)?;
            sqlx::query!(
                r#"update comment c set body = $2, updated_at = now()
                    where origin_id = $1 and status = 'visible'
                      and exists (select 1 from app_user u where u.id = c.author_id and u.origin = $3)"#,
                note.id,
                note.text,
                signer.host,
            )
            .execute(conn)
            .await?;
            Ok(true)
        }
        "Delete" => {
            let Some(id) = id_of(&activity.object) else {
                return Ok(false);
            };
            let hidden = sqlx::query!(
                r#"update comment c set status = 'deleted', body = '', updated_at = now()
                    where origin_id = $1 and status = 'visible'
                      and exists (select 1 from app_user u where u.id = c.author_id and u.origin = $2)"#,
                id,
                signer.host,
            )
            .execute(conn)
            .await?;
            Ok(hidden.rows_affected() > 0)
        }
        _ => Ok(false),
    }
}

/// What a `Note` says, checked against its sender's host.
#[derive(Debug, PartialEq)]
struct Note {
    id: String,
    author: String,
    author_name: Option<String>,
    in_reply_to: String,
    text: String,
    published: Option<OffsetDateTime>,
}

fn read_note(object: &Value, host: &str) -> Result<Note, ApiError> {
    let on_host = |s: &str| host_of(s).is_some_and(|h| h.eq_ignore_ascii_case(host));
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("the note has no id"))?;
    if !on_host(id) {
        return Err(ApiError::bad_request("the note's id is not on its sender's host"));
    }
    let (author, author_name) =
        author_of(object).ok_or_else(|| ApiError::bad_request("the note is attributed to nobody"))?;
    if !on_host(&author) {
        return Err(ApiError::bad_request("the note's author is not on its sender's host"));
    }
    let in_reply_to = object
        .get("inReplyTo")
        .and_then(id_of)
        .ok_or_else(|| ApiError::bad_request("the note replies to nothing (inReplyTo)"))?;
    let text = plain_text(object.get("content").and_then(Value::as_str).unwrap_or_default());
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("the note says nothing"));
    }
    Ok(Note {
        id: id.to_owned(),
        author,
        author_name,
        in_reply_to: in_reply_to.to_owned(),
        text: text.trim().chars().take(MAX_BODY).collect(),
        published: objects::time_of(object, "published").filter(|p| *p <= OffsetDateTime::now_utc()),
    })
}

/// Where a reply lands: the video, and the thread's top-level comment if any.
struct Target {
    video: Uuid,
    video_origin: Option<String>,
    owner: Uuid,
    title: String,
    parent: Option<Uuid>,
    /// Published and federated: partners may see (and comment on) it.
    federated: bool,
}

async fn receive(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    signer: &Actor,
    object: &Value,
) -> Result<(), ApiError> {
    let note = read_note(object, &signer.host)?;
    let Some(target) = target(ctx, conn, &note.in_reply_to).await? else {
        tracing::debug!(note = %note.id, "ignoring a note on nothing we have");
        return Ok(());
    };
    // Ours when federated and published; a partner's only from that partner.
    let welcome = match &target.video_origin {
        None => target.federated,
        Some(origin) => origin.eq_ignore_ascii_case(&signer.host),
    };
    if !welcome {
        tracing::debug!(note = %note.id, "ignoring a note on a video its sender may not comment on");
        return Ok(());
    }
    let author = remote_person(&mut *conn, &signer.host, &note.author, note.author_name.as_deref()).await?;
    let id = Uuid::now_v7();
    let inserted = sqlx::query!(
        r#"insert into comment (id, video_id, author_id, parent_id, body, origin_id, created_at)
           values ($1, $2, $3, $4, $5, $6, coalesce($7, now()))
           on conflict (origin_id) do nothing"#,
        id,
        target.video,
        author,
        target.parent,
        note.text,
        note.id,
        note.published,
    )
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 && target.video_origin.is_none() {
        let name = note.author_name.unwrap_or_else(|| signer.host.clone());
        let payload = json!({ "title": target.title, "comment_id": id, "by": format!("{name} ({})", signer.host) });
        notifications::push(
            conn,
            UserId::from_uuid(target.owner),
            NotificationKind::Comment,
            Some(VideoId::from_uuid(target.video)),
            &payload,
        )
        .await?;
    }
    Ok(())
}

/// The video (and thread) `in_reply_to` names: one of our videos or comments by their
/// ids here, or a partner's video or comment by its id there.
async fn target(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    in_reply_to: &str,
) -> Result<Option<Target>, sqlx::Error> {
    let ours = |kind: &str| {
        in_reply_to
            .strip_prefix(&format!("{}/federation/{kind}/", ctx.instance.origin()))
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    // A reply to a comment joins the thread of its top-level comment.
    let parent = match ours("comments") {
        Some(id) => sqlx::query!(
            r#"select coalesce(parent_id, id) as "thread!", video_id from comment where id = $1"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|p| (p.video_id, p.thread)),
        None => sqlx::query!(
            r#"select coalesce(parent_id, id) as "thread!", video_id from comment where origin_id = $1"#,
            in_reply_to
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|p| (p.video_id, p.thread)),
    };
    let (video, thread) = match parent {
        Some((video, thread)) => (Some(video), Some(thread)),
        None => (ours("videos"), None),
    };
    let row = match video {
        Some(id) => sqlx::query!(r#"select id, origin, owner_id, title, (status = 'published' and visibility = 'federated') as "federated!" from video where id = $1"#, id)
            .fetch_optional(conn)
            .await?
            .map(|r| (r.id, r.origin, r.owner_id, r.title, r.federated)),
        None => sqlx::query!(
            r#"select id, origin, owner_id, title, (status = 'published' and visibility = 'federated') as "federated!" from video where origin_id = $1"#,
            in_reply_to
        )
        .fetch_optional(conn)
        .await?
        .map(|r| (r.id, r.origin, r.owner_id, r.title, r.federated)),
    };
    Ok(row.map(|(video, video_origin, owner, title, federated)| Target {
        video,
        video_origin,
        owner,
        title,
        parent: thread,
        federated,
    }))
}

/// A comment as HTML: one escaped paragraph, line breaks kept.
fn html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "<br>");
    format!("<p>{escaped}</p>")
}

/// The text of a note's HTML: tags dropped (paragraphs and breaks as new lines), the
/// common entities decoded. Written here rather than pulling an HTML parser: notes are
/// short and only their text is kept.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end]
            .trim_start_matches('/')
            .to_ascii_lowercase();
        if (tag.starts_with("br") || tag.starts_with('p')) && !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_goes_out_as_escaped_html_and_comes_back_as_text() {
        let text = "a <b> & \"c\"\nnext line";
        assert_eq!(html(text), "<p>a &lt;b&gt; &amp; &quot;c&quot;<br>next line</p>");
        assert_eq!(plain_text(&html(text)), text);
        assert_eq!(
            plain_text("<p>Hello <span class=\"h-card\"><a href=\"x\">@ana</a></span></p><p>bye</p>"),
            "Hello @ana\nbye"
        );
        assert_eq!(plain_text("unclosed <b"), "unclosed");
        assert_eq!(plain_text("&amp;lt;"), "&lt;");
    }

    #[test]
    fn a_note_is_read_only_from_its_own_host() {
        let note = json!({
            "type": "Note", "id": "https://b.example/c/1", "inReplyTo": "https://a.example/federation/videos/1",
            "attributedTo": "https://b.example/u/1", "content": "<p>Nice</p>",
        });
        let read = read_note(&note, "b.example").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(read.text, "Nice");
        assert_eq!(read.author, "https://b.example/u/1");
        assert!(read_note(&note, "c.example").is_err(), "another host's note");
        let mut foreign = note.clone();
        foreign["attributedTo"] = json!("https://c.example/u/1");
        assert!(read_note(&foreign, "b.example").is_err(), "an author elsewhere");
        let mut empty = note.clone();
        empty["content"] = json!("<p> </p>");
        assert!(read_note(&empty, "b.example").is_err(), "nothing said");
        let mut orphan = note;
        orphan.as_object_mut().map(|o| o.remove("inReplyTo"));
        assert!(read_note(&orphan, "b.example").is_err(), "a reply to nothing");
    }
}
