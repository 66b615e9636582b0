//! `POST /api/v1/videos`: a multipart form with the file and its metadata.

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::{HttpResponse, web};
use futures_util::TryStreamExt;
use skillreel_auth::AuthUser;
use skillreel_contracts::views::VideoView;
use skillreel_db::videos::{self, NewVideo};
use skillreel_domain::{Description, Tags, Title, VideoId};
use skillreel_storage::{ObjectKey, ObjectWriter, StorageError, VideoFiles};
use skillreel_web::{ApiError, ErrorCode};

use crate::{UploadContext, checks};

/// The form `POST /api/v1/videos` reads (documentation of the multipart fields; the
/// handler streams them in any order).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct VideoUploadForm {
    /// The video file, streamed to storage as it arrives.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    #[schema(
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    title: String,
    #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    description: Option<String>,
    /// Comma-separated, at most 20.
    #[schema(max_length = 1000, pattern = "^[\\w +#.,-]*$")]
    tags: Option<String>,
}

/// Text fields are short; anything longer is refused before it is buffered.
const MAX_TEXT_FIELD: usize = 16 * 1024;

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => {
            ApiError::new(ErrorCode::UnsupportedMediaType, "expected a multipart/form-data body")
        }
        MultipartError::Payload(e) if skillreel_web::is_timed_out(&e) => {
            ApiError::new(ErrorCode::RequestTimeout, format!("the upload stalled: {e}"))
        }
        other => ApiError::bad_request(format!("malformed multipart body: {other}")),
    }
}

fn storage_error(e: StorageError) -> ApiError {
    ApiError::unavailable(e)
}

async fn read_text(mut field: Field, name: &str) -> Result<String, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::validation(format!(
                "field `{name}` is longer than {MAX_TEXT_FIELD} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::validation(format!("field `{name}` is not UTF-8 text")))
}

/// The file's bytes as they went to storage.
struct StoredFile {
    writer: Box<dyn ObjectWriter>,
    size: u64,
    filename: Option<String>,
}

async fn stream_file(
    mut field: Field,
    ctx: &UploadContext,
    key: &ObjectKey,
    quota: u64,
) -> Result<StoredFile, ApiError> {
    let filename = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .map(|f| f.chars().filter(|c| !c.is_control()).take(255).collect());
    let mut writer = ctx
        .storage
        .writer(key, "application/octet-stream")
        .await
        .map_err(storage_error)?;
    let mut size: u64 = 0;
    // The first bytes wait here until there are enough to tell a video container.
    let mut head = Vec::with_capacity(checks::SNIFF_LEN);
    let outcome: Result<(), ApiError> = async {
        while let Some(chunk) = field.try_next().await.map_err(multipart_error)? {
            size += chunk.len() as u64;
            if size > ctx.max_size_bytes {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the file is larger than the limit of {} bytes", ctx.max_size_bytes),
                ));
            }
            if size > quota {
                return Err(checks::over_quota(quota));
            }
            if head.len() < checks::SNIFF_LEN {
                head.extend_from_slice(&chunk);
                if head.len() >= checks::SNIFF_LEN {
                    checks::sniff(&head)?;
                }
            }
            writer.write(chunk).await.map_err(storage_error)?;
        }
        if !head.is_empty() && head.len() < checks::SNIFF_LEN {
            checks::sniff(&head)?;
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(StoredFile { writer, size, filename }),
        Err(e) => {
            let _ = writer.abort().await;
            Err(e)
        }
    }
}

#[derive(Default)]
struct Form {
    title: Option<String>,
    description: Option<String>,
    tags: Option<String>,
    file: Option<StoredFile>,
}

async fn read_form(
    payload: &mut Multipart,
    ctx: &UploadContext,
    key: &ObjectKey,
    quota: u64,
) -> Result<Form, ApiError> {
    let mut form = Form::default();
    let outcome = read_fields(payload, ctx, key, quota, &mut form).await;
    if outcome.is_err()
        && let Some(file) = form.file.take()
    {
        // A bad field after the file: the stored bytes must not linger.
        let _ = file.writer.abort().await;
    }
    outcome.map(|()| form)
}

async fn read_fields(
    payload: &mut Multipart,
    ctx: &UploadContext,
    key: &ObjectKey,
    quota: u64,
    form: &mut Form,
) -> Result<(), ApiError> {
    while let Some(field) = payload.try_next().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" if form.file.is_none() => form.file = Some(stream_file(field, ctx, key, quota).await?),
            "title" => form.title = Some(read_text(field, &name).await?),
            "description" => form.description = Some(read_text(field, &name).await?),
            "tags" => form.tags = Some(read_text(field, &name).await?),
            "file" => return Err(ApiError::validation("send exactly one `file`")),
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(ApiError::validation(format!("unexpected field `{shown}`")));
            }
        }
    }
    Ok(())
}

/// Validated metadata, parsed at the edge.
struct Metadata {
    title: Title,
    description: Description,
    tags: Tags,
}

fn validate(form: &Form) -> Result<Metadata, ApiError> {
    let title = Title::parse(
        form.title
            .as_deref()
            .ok_or_else(|| ApiError::validation("`title` is required"))?,
    )?;
    let description = Description::parse(form.description.as_deref().unwrap_or_default())?;
    let tags = Tags::parse_csv(form.tags.as_deref().unwrap_or_default())?;
    Ok(Metadata {
        title,
        description,
        tags,
    })
}

/// Reserves the file's size of its owner's quota, creates the video and queues its
/// transcode, in one transaction.
async fn record(ctx: &UploadContext, video: &NewVideo<'_>, size: u64) -> Result<(), ApiError> {
    let mut tx = ctx.pool.begin().await?;
    checks::reserve_quota(&mut tx, video.owner_id, size, ctx.quotas).await?;
    crate::finalize(&mut tx, video, ctx.max_attempts).await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(user = %user.subject))]
pub async fn post_video(
    user: AuthUser,
    ctx: web::Data<UploadContext>,
    mut payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let id = VideoId::new();
    let key = VideoFiles::of(id).source();
    // An early bound, so a body past the quota is refused while it streams; the
    // reservation at the end is what counts.
    let quota = checks::remaining_quota(&mut *ctx.pool.acquire().await?, user.id, ctx.quotas).await?;
    let mut form = read_form(&mut payload, &ctx, &key, quota).await?;
    // Nothing is visible in storage until `finish`: on a refusal, abort and leave nothing.
    let metadata = match validate(&form) {
        Ok(m) => m,
        Err(e) => {
            if let Some(file) = form.file.take() {
                let _ = file.writer.abort().await;
            }
            return Err(e);
        }
    };
    let file = form
        .file
        .take()
        .ok_or_else(|| ApiError::validation("`file` is required"))?;
    if file.size == 0 {
        let _ = file.writer.abort().await;
        return Err(ApiError::validation("the file is empty"));
    }
    file.writer.finish().await.map_err(storage_error)?;

    let tags = metadata.tags.as_strings();
    let video = NewVideo {
        id,
        owner_id: user.id,
        title: metadata.title.as_str(),
        description: metadata.description.as_str(),
        tags: &tags,
        source_key: key.as_str(),
        source_size: file.size as i64,
        source_filename: file.filename.as_deref(),
    };
    if let Err(e) = record(&ctx, &video, file.size).await {
        // No row points at the object: remove it rather than leak it.
        let _ = ctx.storage.delete_prefix(&key).await;
        return Err(e);
    }
    let mut conn = ctx.pool.acquire().await?;
    let record = videos::find(&mut conn, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("video vanished after insert"))?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/videos/{id}")))
        .json(VideoView::new(record, None, true)))
}
