//! Which caption languages a video has, and their text for search (the WebVTT files
//! themselves live in storage beside the renditions).

use skillreel_domain::VideoId;
use sqlx::PgConnection;

/// Stores the caption text and refreshes the video's search vector; true when the
/// language is new for the video.
pub async fn upsert(conn: &mut PgConnection, video: VideoId, language: &str, text: &str) -> Result<bool, sqlx::Error> {
    let created = sqlx::query_scalar!(
        r#"
        insert into caption (video_id, language, text) values ($1, $2, $3)
        on conflict (video_id, language) do update set text = excluded.text, updated_at = now()
        returning (xmax = 0) as "created!"
        "#,
        video.as_uuid(),
        language,
        text,
    )
    .fetch_one(&mut *conn)
    .await?;
    refresh_search(conn, video).await?;
    Ok(created)
}

pub async fn delete(conn: &mut PgConnection, video: VideoId, language: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "delete from caption where video_id = $1 and language = $2",
        video.as_uuid(),
        language
    )
    .execute(&mut *conn)
    .await?;
    refresh_search(conn, video).await?;
    Ok(done.rows_affected() == 1)
}

/// The languages a video has captions in, alphabetically.
pub async fn languages(conn: &mut PgConnection, video: VideoId) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select language from caption where video_id = $1 order by language",
        video.as_uuid()
    )
    .fetch_all(conn)
    .await
}

/// The search trigger reads the captions; touching `language` runs it.
async fn refresh_search(conn: &mut PgConnection, video: VideoId) -> Result<(), sqlx::Error> {
    sqlx::query!("update video set language = language where id = $1", video.as_uuid())
        .execute(conn)
        .await?;
    Ok(())
}
