//! What every upload path checks, whichever protocol brought the bytes: that the first
//! bytes look like a video container, and that the person has room left.

use std::collections::HashMap;

use skillreel_domain::{Description, Tags, Title, UserId};
use skillreel_web::{ApiError, ErrorCode};
use sqlx::PgConnection;

/// Bytes needed to recognise a container (MPEG-TS needs its second sync byte at 188).
pub const SNIFF_LEN: usize = 189;

/// Whether `head` (the first bytes of a file, up to [`SNIFF_LEN`]) can start a video
/// container we might decode. Deliberately permissive: it only catches what is clearly
/// something else (documents, images, archives, text); the transcoder's probe decides.
pub fn looks_like_video(head: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let iso_box = [b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"]
        .iter()
        .any(|b| at(4, *b));
    iso_box                                         // MP4, MOV, 3GP, M4V
        || at(0, &[0x1A, 0x45, 0xDF, 0xA3])          // Matroska, WebM
        || (at(0, b"RIFF") && at(8, b"AVI "))        // AVI
        || (at(0, &[0x47]) && (head.len() <= 188 || at(188, &[0x47]))) // MPEG-TS
        || at(0, &[0x00, 0x00, 0x01, 0xBA])          // MPEG-PS
        || at(0, &[0x00, 0x00, 0x01, 0xB3])          // MPEG-1/2 video
        || at(0, &[0x00, 0x00, 0x00, 0x01])          // H.264/H.265 elementary stream
        || at(0, b"FLV")                             // Flash video
        || at(0, b"OggS")                            // Ogg (Theora)
        || at(0, &[0x30, 0x26, 0xB2, 0x75]) // ASF, WMV
}

/// 415 unless `head` [`looks_like_video`].
pub fn sniff(head: &[u8]) -> Result<(), ApiError> {
    if looks_like_video(head) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::UnsupportedMediaType,
        "the file does not look like a video (MP4, MOV, WebM, MKV, AVI, MPEG-TS, …)",
    ))
}

/// Limits on what one person may store.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    /// All of a person's sources together.
    pub storage_bytes: u64,
    /// What a person may upload in 24 hours.
    pub daily_bytes: u64,
}

/// Reserves `bytes` more of `user`'s quota in the caller's transaction, or refuses.
///
/// A reservation is a video's `source_size`, which the caller writes in the same
/// transaction; a per-person advisory lock, held until it commits, makes the check and
/// that write one step, so two uploads (or two replicas) cannot both spend the same
/// remaining bytes.
pub async fn reserve_quota(conn: &mut PgConnection, user: UserId, bytes: u64, quotas: Quotas) -> Result<(), ApiError> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('quota:' || $1::text, 0))",
        user.as_uuid().to_string()
    )
    .execute(&mut *conn)
    .await?;
    let remaining = remaining_quota(conn, user, quotas).await?;
    if bytes > remaining {
        return Err(over_quota(remaining));
    }
    Ok(())
}

/// How many more bytes `user` may upload now (uploads in progress count with what they
/// reserved).
pub async fn remaining_quota(conn: &mut PgConnection, user: UserId, quotas: Quotas) -> Result<u64, ApiError> {
    let usage = sqlx::query!(
        r#"
        select coalesce(sum(source_size), 0)::bigint as "stored!",
               coalesce(sum(source_size) filter (where created_at > now() - interval '1 day'), 0)::bigint as "today!"
          from video
         where owner_id = $1 and status <> 'removed'
        "#,
        user.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    let stored = quotas.storage_bytes.saturating_sub(usage.stored.max(0) as u64);
    let today = quotas.daily_bytes.saturating_sub(usage.today.max(0) as u64);
    Ok(stored.min(today))
}

pub fn over_quota(remaining: u64) -> ApiError {
    ApiError::new(
        ErrorCode::QuotaExceeded,
        format!("this upload would exceed your storage or daily upload quota ({remaining} bytes left)"),
    )
}

/// The metadata a video needs, validated before a byte is stored.
pub struct UploadMetadata {
    pub title: Title,
    pub description: Description,
    pub tags: Tags,
    pub filename: Option<String>,
}

/// Declared types that are clearly not video are refused before any byte arrives.
fn check_filetype(filetype: Option<&str>) -> Result<(), ApiError> {
    match filetype.map(str::to_ascii_lowercase) {
        Some(t) if ["image/", "audio/", "text/", "font/"].iter().any(|p| t.starts_with(p)) => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("`{t}` is not a video; upload a video file"),
        )),
        _ => Ok(()),
    }
}

fn sanitize_filename(raw: &str) -> Option<String> {
    let name: String = raw
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect();
    Some(name.trim().to_owned()).filter(|n| !n.is_empty())
}

pub fn validate_metadata(meta: &HashMap<String, String>) -> Result<UploadMetadata, ApiError> {
    check_filetype(meta.get("filetype").map(String::as_str))?;
    let filename = meta.get("filename").and_then(|f| sanitize_filename(f));
    // A title, or failing that the file's name without its extension.
    let title_source = meta.get("title").cloned().or_else(|| {
        filename
            .as_deref()
            .map(|f| f.rsplit_once('.').map_or(f, |(stem, _)| stem).replace(['_', '-'], " "))
    });
    let title = Title::parse(&title_source.ok_or_else(|| ApiError::validation("metadata `title` is required"))?)?;
    let description = Description::parse(meta.get("description").map(String::as_str).unwrap_or_default())?;
    let tags = Tags::parse_csv(meta.get("tags").map(String::as_str).unwrap_or_default())?;
    if meta.get("community").is_some_and(|c| c.len() > 100) {
        return Err(ApiError::validation("metadata `community` is too long"));
    }
    Ok(UploadMetadata {
        title,
        description,
        tags,
        filename,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_recognised_and_other_files_are_not() {
        let mut mp4 = vec![0, 0, 0, 0x20];
        mp4.extend_from_slice(b"ftypisom");
        assert!(looks_like_video(&mp4));
        assert!(looks_like_video(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]));
        assert!(looks_like_video(b"RIFF\x00\x00\x00\x00AVI LIST"));
        let mut ts = vec![0x47; 1];
        ts.extend(vec![0xFF; 187]);
        ts.push(0x47);
        assert!(looks_like_video(&ts));
        for other in [
            &b"%PDF-1.7"[..],
            b"\x89PNG\r\n\x1a\n",
            b"PK\x03\x04",
            b"\xFF\xD8\xFF\xE0",
            b"Meeting notes: ...",
            b"",
            b"ID3\x04",
        ] {
            assert!(!looks_like_video(other), "{other:?}");
        }
    }

    fn meta(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_title_falls_back_to_the_file_name_and_paths_are_stripped() {
        let m = validate_metadata(&meta(&[("filename", "../../etc/Git_rebase-basics.mp4")]));
        let m = m.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.title.as_str(), "Git rebase basics");
        assert_eq!(m.filename.as_deref(), Some("Git_rebase-basics.mp4"));
        assert!(validate_metadata(&meta(&[])).is_err());
        assert!(validate_metadata(&meta(&[("title", "x"), ("filetype", "image/png")])).is_err());
        assert!(validate_metadata(&meta(&[("title", "x"), ("filetype", "video/mp4")])).is_ok());
        assert!(validate_metadata(&meta(&[("title", "x"), ("tags", "<b>")])).is_err());
    }
}
