//! What more than one of libs/db's test files asks the same way.

use skillreel_db::videos::{self, Sort, VideoFilter, VideoQueryError, VideoRecord};
use skillreel_domain::{UserId, VideoStatus};
use sqlx::PgConnection;

/// The first page of `tag` for `reader`, asked alone (`videos::list`, not batched).
pub async fn tag_page_alone(
    conn: &mut PgConnection,
    reader: UserId,
    tag: &str,
) -> Result<Vec<VideoRecord>, VideoQueryError> {
    let filter = VideoFilter {
        tag: Some(tag.into()),
        ..VideoFilter::default()
    };
    let page = videos::list(
        conn,
        reader,
        false,
        VideoStatus::Published,
        &filter,
        Sort::Recent,
        None,
        21,
    )
    .await?;
    Ok(page.videos)
}
