//! Kudos: `POST /api/v1/users/{id}/kudos`.
//!
//! A manager recognises a report (direct or indirect), an admin anyone, with a message;
//! the person is told and the `reputation` consumer credits it. At most one kudos from
//! the same giver to the same person a day, so that kudos stay worth something.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::events;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{UserId, multiline_text};
use skillreel_learning::org;
use skillreel_web::{ApiError, ErrorCode, JsonObject};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::RecognitionContext;
use crate::profile::PersonRef;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KudosRequest {
    /// What for; shown to the person and in their history.
    #[schema(min_length = 1, max_length = 1000)]
    message: String,
}

/// Kudos given.
#[derive(Debug, Serialize, ToSchema)]
pub struct KudosView {
    pub id: Uuid,
    pub recipient: PersonRef,
    pub giver: PersonRef,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `POST /api/v1/users/{id}/kudos`.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn give(
    user: AuthUser,
    ctx: web::Data<RecognitionContext>,
    path: web::Path<String>,
    body: JsonObject<KudosRequest>,
) -> Result<HttpResponse, ApiError> {
    let recipient: Uuid = path.parse().map_err(|_| ApiError::not_found("person"))?;
    let message = multiline_text("message", &body.message, 1000).map_err(|e| ApiError::validation(e.to_string()))?;
    if message.is_empty() {
        return Err(ApiError::validation("say what the kudos are for"));
    }
    if recipient == user.id.as_uuid() {
        return Err(ApiError::validation("kudos are for someone else"));
    }
    let mut tx = ctx.pool.begin().await?;
    let name = org::names(&mut tx, &[recipient])
        .await?
        .remove(&recipient)
        .ok_or_else(|| ApiError::not_found("person"))?;
    if !user.is_admin() && !org::manages(&mut tx, &user.subject, UserId::from_uuid(recipient)).await? {
        return Err(ApiError::forbidden(
            "kudos come from the person's managers (directly or up the chain) or an admin",
        ));
    }
    let now = ctx.clock.now();
    sqlx::query!(
        r#"select true as "locked!" from pg_advisory_xact_lock(hashtext('kudos'), hashtext($1::text || $2::text))"#,
        user.id.as_uuid().to_string(),
        recipient.to_string(),
    )
    .fetch_one(&mut *tx)
    .await?;
    let recent = sqlx::query_scalar!(
        r#"select exists (select 1 from kudos where giver_id = $1 and recipient_id = $2 and created_at > $3) as "recent!""#,
        user.id.as_uuid(),
        recipient,
        now - time::Duration::DAY,
    )
    .fetch_one(&mut *tx)
    .await?;
    if recent {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            "you gave this person kudos within the last day; try again tomorrow",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into kudos (id, giver_id, recipient_id, message, created_at) values ($1, $2, $3, $4, $5)",
        id,
        user.id.as_uuid(),
        recipient,
        message,
        now,
    )
    .execute(&mut *tx)
    .await?;
    let payload = serde_json::json!({ "kudos_id": id, "from": user.name, "message": message });
    notifications::push(
        &mut tx,
        UserId::from_uuid(recipient),
        NotificationKind::Kudos,
        None,
        &payload,
    )
    .await?;
    let event = DomainEvent::KudosGiven {
        kudos: id,
        recipient: UserId::from_uuid(recipient),
        actor: user.id,
        message: message.clone(),
    };
    events::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(KudosView {
        id,
        recipient: PersonRef {
            id: recipient,
            name,
            team: None,
        },
        giver: PersonRef {
            id: user.id.as_uuid(),
            name: user.name.clone(),
            team: None,
        },
        message,
        created_at: now,
    }))
}
