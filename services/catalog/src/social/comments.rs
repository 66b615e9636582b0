//! Comments and questions: `GET|POST /api/v1/videos/{id}/comments`,
//! `PATCH|DELETE /api/v1/comments/{id}`, `POST /api/v1/comments/{id}/accept`.
//!
//! Threads are two levels deep: a reply to a reply joins the thread of its top-level
//! comment. Whoever can see a published video can comment. Authors edit and delete
//! their own comments; moderators (of the video's community, or org-wide) and admins
//! remove anyone's. The video's author, the question's author or a moderator accepts
//! an answer. The video's author hears of new comments, a question's author of
//! answers, and anyone `@mentioned` (by their login) of the mention.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use skillreel_auth::AuthUser;
use skillreel_db::comments::{self, Comment, NewComment};
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_db::videos::{self, VideoRecord};
use skillreel_db::{events, users};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{UserId, VideoStatus};
use skillreel_web::ApiError;
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::CatalogContext;
use crate::access::{self, Action, Membership};
use crate::videos::{load_visible, lookup_error};

/// Longest comment, in characters.
const MAX_BODY: usize = 5000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Thread {
    #[serde(flatten)]
    pub comment: Comment,
    pub replies: Vec<Comment>,
}

/// Groups comments (oldest first) into threads; a reply whose parent is missing
/// (e.g. cut off by the limit) is shown as a thread of its own.
fn threads(all: Vec<Comment>) -> Vec<Thread> {
    let mut out: Vec<Thread> = Vec::new();
    for c in all {
        match c.parent_id.and_then(|p| out.iter_mut().find(|t| t.comment.id == p)) {
            Some(thread) => thread.replies.push(c),
            None => out.push(Thread {
                comment: c,
                replies: Vec::new(),
            }),
        }
    }
    out
}

/// The `@login` mentions in a text: letters, digits, `.`, `_`, `-` after an `@` that
/// starts a word.
fn mentions(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut previous = ' ';
    for (i, ch) in body.char_indices() {
        if ch == '@' && !previous.is_alphanumeric() {
            let name: String = body[i + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect();
            let name = name.trim_end_matches(['.', '-', '_']).to_owned();
            if !name.is_empty() && !found.contains(&name) && found.len() < 20 {
                found.push(name);
            }
        }
        previous = ch;
    }
    found
}

fn parse_body(raw: &str) -> Result<String, ApiError> {
    let body = raw.trim();
    if body.is_empty() {
        return Err(ApiError::validation("a comment needs some text"));
    }
    if body.chars().count() > MAX_BODY {
        return Err(ApiError::validation(format!(
            "a comment is at most {MAX_BODY} characters"
        )));
    }
    if body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(ApiError::validation("a comment must not contain control characters"));
    }
    Ok(body.to_owned())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Threads, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn list(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Vec<Thread>>, ApiError> {
    let limit = i64::from(query.limit.unwrap_or(500));
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, &user, &path).await?;
    let all = comments::for_video(&mut conn, video.id, limit).await?;
    Ok(web::Json(threads(all)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewComment)]
pub struct NewCommentRequest {
    #[schema(
        max_length = 5000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    body: String,
    /// Reply to this comment.
    parent_id: Option<Uuid>,
    /// Ask a question (top-level comments only).
    #[serde(default)]
    question: bool,
}

#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn create(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    body: skillreel_web::JsonObject<NewCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let text = parse_body(&body.body)?;
    let mut tx = ctx.pool.begin().await?;
    let (video, _) = load_visible(&mut tx, &user, &path).await?;
    if video.status != VideoStatus::Published {
        return Err(ApiError::conflict("only published videos can be commented on"));
    }
    // A reply joins the thread of its top-level comment.
    let parent = match body.parent_id {
        Some(id) => {
            let parent = comments::find(&mut tx, id)
                .await?
                .filter(|c| c.video_id == video.id.as_uuid())
                .ok_or_else(|| ApiError::validation("parent_id is not a comment on this video"))?;
            Some(match parent.parent_id {
                Some(root) => comments::find(&mut tx, root)
                    .await?
                    .ok_or_else(|| ApiError::validation("parent_id is not a comment on this video"))?,
                None => parent,
            })
        }
        None => None,
    };
    if body.question && parent.is_some() {
        return Err(ApiError::validation("only a top-level comment can be a question"));
    }
    let id = comments::insert(
        &mut tx,
        &NewComment {
            video: video.id,
            author: user.id,
            parent: parent.as_ref().map(|p| p.id),
            body: &text,
            is_question: body.question,
        },
    )
    .await?;
    notify(&mut tx, &user, &video, parent.as_ref(), id, &text).await?;
    let created = DomainEvent::CommentCreated {
        comment: id,
        video: video.id,
        actor: user.id,
        question: body.question,
    };
    events::record(&mut tx, &created).await?;
    let comment = comments::find(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/comments/{id}")))
        .json(comment))
}

/// The video's author (a comment), the question's author (an answer), the mentioned
/// (a mention); nobody about their own words, nobody twice.
async fn notify(
    conn: &mut PgConnection,
    user: &AuthUser,
    video: &VideoRecord,
    parent: Option<&Comment>,
    comment: Uuid,
    text: &str,
) -> Result<(), ApiError> {
    let mut told: HashSet<Uuid> = HashSet::from([user.id.as_uuid()]);
    let payload = json!({ "title": video.title, "comment_id": comment, "by": user.name });
    if let Some(question) = parent.filter(|p| p.is_question)
        && told.insert(question.author_id)
    {
        let to = UserId::from_uuid(question.author_id);
        notifications::push(conn, to, NotificationKind::Answer, Some(video.id), &payload).await?;
    }
    // A partner's author hears of it at their own instance.
    if video.origin.is_none() && told.insert(video.owner_id.as_uuid()) {
        notifications::push(
            conn,
            video.owner_id,
            NotificationKind::Comment,
            Some(video.id),
            &payload,
        )
        .await?;
    }
    let named = mentions(text);
    if !named.is_empty() {
        for person in users::by_subjects(conn, &named).await? {
            let person = AuthUser::from(person);
            // A mention must not show a video's title to someone who may not see it.
            let membership = access::membership(conn, &person, video).await?;
            if access::allows(&person, Action::View, video, membership) && told.insert(person.id.as_uuid()) {
                notifications::push(conn, person.id, NotificationKind::Mention, Some(video.id), &payload).await?;
            }
        }
    }
    Ok(())
}

/// The comment, its video and the caller's standing there; 404 when the caller
/// cannot see the video.
async fn load(
    conn: &mut PgConnection,
    user: &AuthUser,
    raw: &str,
) -> Result<(Comment, VideoRecord, Membership), ApiError> {
    let id: Uuid = raw.parse().map_err(|_| ApiError::not_found("comment"))?;
    let comment = comments::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let video = videos::find(conn, skillreel_domain::VideoId::from_uuid(comment.video_id))
        .await
        .map_err(lookup_error)?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let membership = access::membership(conn, user, &video).await?;
    if !access::allows(user, Action::View, &video, membership) {
        return Err(ApiError::not_found("comment"));
    }
    Ok((comment, video, membership))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CommentEdit)]
pub struct EditRequest {
    #[schema(
        max_length = 5000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    body: String,
}

/// `PATCH /api/v1/comments/{id}`: its author only.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn edit(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    body: skillreel_web::JsonObject<EditRequest>,
) -> Result<web::Json<Comment>, ApiError> {
    let text = parse_body(&body.body)?;
    let mut tx = ctx.pool.begin().await?;
    let (comment, video, _) = load(&mut tx, &user, &path).await?;
    if comment.author_id != user.id.as_uuid() {
        return Err(ApiError::forbidden("only its author may edit a comment"));
    }
    if !comments::edit(&mut tx, comment.id, &text).await? {
        return Err(ApiError::conflict("the comment was deleted"));
    }
    let updated = DomainEvent::CommentUpdated {
        comment: comment.id,
        video: video.id,
        actor: user.id,
    };
    events::record(&mut tx, &updated).await?;
    let comment = comments::find(&mut tx, comment.id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    tx.commit().await?;
    Ok(web::Json(comment))
}

/// `DELETE /api/v1/comments/{id}`: its author deletes it, a moderator removes it.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn delete(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (comment, video, membership) = load(&mut tx, &user, &path).await?;
    let status = if comment.author_id == user.id.as_uuid() {
        "deleted"
    } else if access::allows(&user, Action::ModerateComments, &video, membership) {
        "removed"
    } else {
        return Err(ApiError::forbidden(
            "only its author or a moderator may delete a comment",
        ));
    };
    if !comments::hide(&mut tx, comment.id, status).await? {
        return Err(ApiError::not_found("comment"));
    }
    let deleted = DomainEvent::CommentDeleted {
        comment: comment.id,
        video: video.id,
        actor: user.id,
    };
    events::record(&mut tx, &deleted).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/comments/{id}/accept`: marks this reply as the answer to its question.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn accept(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<Comment>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (answer, video, membership) = load(&mut tx, &user, &path).await?;
    let question = match answer.parent_id {
        Some(parent) => comments::find(&mut tx, parent).await?,
        None => None,
    }
    .filter(|q| q.is_question)
    .ok_or_else(|| ApiError::conflict("only a reply to a question can be accepted"))?;
    let allowed = question.author_id == user.id.as_uuid()
        || video.owner_id == user.id
        || access::allows(&user, Action::ModerateComments, &video, membership);
    if !allowed {
        return Err(ApiError::forbidden(
            "the question's author, the video's author or a moderator accepts an answer",
        ));
    }
    if !comments::accept(&mut tx, question.id, answer.id).await? {
        return Err(ApiError::conflict("the answer was deleted"));
    }
    let accepted = DomainEvent::AnswerAccepted {
        answer: answer.id,
        video: video.id,
        actor: user.id,
        author: UserId::from_uuid(answer.author_id),
    };
    events::record(&mut tx, &accepted).await?;
    let question = comments::find(&mut tx, question.id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    tx.commit().await?;
    Ok(web::Json(question))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_logins_after_an_at_that_starts_a_word() {
        assert_eq!(
            mentions("Thanks @alice and @bob.smith! Mail me at carol@example.com, @alice."),
            vec!["alice".to_owned(), "bob.smith".to_owned()]
        );
        assert!(mentions("no one here @ all").is_empty());
    }
}
