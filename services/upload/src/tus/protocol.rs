//! tus 1.0 on the wire: headers, `Upload-Metadata` and `Upload-Checksum`.

use std::collections::HashMap;
use std::time::SystemTime;

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderMap, HttpDate};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Digest;
use skillreel_web::{ApiError, ErrorCode};
use time::OffsetDateTime;

pub const VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration";
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| ApiError::bad_request(format!("`{name}` is not text")))
        })
        .transpose()
}

/// Every request but `OPTIONS` must speak our version.
pub fn check_version(req: &HttpRequest) -> Result<(), ApiError> {
    match header(req.headers(), "Tus-Resumable")? {
        Some(VERSION) => Ok(()),
        Some(other) => Err(ApiError::new(
            ErrorCode::PreconditionFailed,
            format!("tus version `{other}` is not supported; this server speaks {VERSION}"),
        )),
        None => Err(ApiError::bad_request("missing `Tus-Resumable: 1.0.0`")),
    }
}

/// A non-negative byte count from a header.
pub fn byte_count(req: &HttpRequest, name: &str) -> Result<Option<u64>, ApiError> {
    header(req.headers(), name)?
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("`{name}` must be a non-negative integer")))
        })
        .transpose()
}

/// Whether the body is upload data (creation-with-upload, PATCH).
pub fn has_upload_body(req: &HttpRequest) -> Result<bool, ApiError> {
    Ok(header(req.headers(), "Content-Type")?.is_some_and(|ct| ct.eq_ignore_ascii_case(OFFSET_OCTET_STREAM)))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (a key may stand alone).
pub fn parse_metadata(raw: &str) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let key = parts.next().unwrap_or_default();
        if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::bad_request("`Upload-Metadata` has a malformed key"));
        }
        let value = match parts.next() {
            Some(encoded) => {
                let bytes = STANDARD
                    .decode(encoded)
                    .map_err(|_| ApiError::bad_request(format!("`Upload-Metadata` value of `{key}` is not base64")))?;
                String::from_utf8(bytes)
                    .map_err(|_| ApiError::validation(format!("`Upload-Metadata` value of `{key}` is not UTF-8")))?
            }
            None => String::new(),
        };
        if parts.next().is_some() {
            return Err(ApiError::bad_request("`Upload-Metadata` pairs are `key base64value`"));
        }
        if out.insert(key.to_owned(), value).is_some() {
            return Err(ApiError::bad_request(format!("`Upload-Metadata` repeats `{key}`")));
        }
    }
    Ok(out)
}

/// A running digest of one request's bytes, to check against `Upload-Checksum`.
pub enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    /// Parses `Upload-Checksum: <algorithm> <base64 digest>`.
    pub fn from_request(req: &HttpRequest) -> Result<Option<Self>, ApiError> {
        let Some(raw) = header(req.headers(), "Upload-Checksum")? else {
            return Ok(None);
        };
        let (algorithm, digest) = raw
            .split_once(' ')
            .ok_or_else(|| ApiError::bad_request("malformed `Upload-Checksum`"))?;
        let expected = STANDARD
            .decode(digest.trim())
            .map_err(|_| ApiError::bad_request("the `Upload-Checksum` digest is not base64"))?;
        match algorithm {
            "sha1" => Ok(Some(Self::Sha1(sha1::Sha1::new(), expected))),
            "sha256" => Ok(Some(Self::Sha256(sha2::Sha256::new(), expected))),
            other => Err(ApiError::bad_request(format!(
                "checksum algorithm `{other}` is not supported; use one of {CHECKSUM_ALGORITHMS}"
            ))),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h, _) => h.update(data),
            Self::Sha256(h, _) => h.update(data),
        }
    }

    pub fn matches(self) -> bool {
        match self {
            Self::Sha1(h, expected) => h.finalize().as_slice() == expected.as_slice(),
            Self::Sha256(h, expected) => h.finalize().as_slice() == expected.as_slice(),
        }
    }
}

/// `Upload-Expires` is an HTTP date.
pub fn http_date(at: OffsetDateTime) -> String {
    HttpDate::from(SystemTime::from(at)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_decode_and_malformed_ones_are_refused() {
        let parsed = parse_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential, title SGk=");
        let parsed = parsed.unwrap_or_default();
        assert_eq!(
            parsed.get("filename").map(String::as_str),
            Some("world_domination_plan.pdf")
        );
        assert_eq!(parsed.get("is_confidential").map(String::as_str), Some(""));
        assert_eq!(parsed.get("title").map(String::as_str), Some("Hi"));
        for bad in ["title !!!", "title a b", "title SGk=,title SGk=", "tïtle SGk="] {
            assert!(parse_metadata(bad).is_err(), "{bad}");
        }
    }
}
