//! HTTP Signatures as the fediverse uses them (draft-cavage-http-signatures-12, the
//! dialect Mastodon, PeerTube and bovine speak): an RSA key signs `(request-target)`,
//! `host`, `date` and, for a body, `digest` (`SHA-256=` of the body); the receiver
//! rebuilds the same string from the request it got and checks it with the sender's
//! public key. `rsa-sha256` and `hs2019` (with an RSA key, RSASSA-PKCS1-v1_5 over
//! SHA-256, as the fediverse reads it) are both understood; `hs2019` is sent.
//!
//! Written here on the keys of [`crate::keys`] rather than taken from a crate: the
//! crates that speak this dialect are AGPL/GPL (`http-signature-normalization*`,
//! Lemmy's) or bind OpenSSL (`sigh`, `httpsign`), which this tree does not build with.
//! The format is small; what matters, the signing string, is tested below against both
//! directions.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::keys::{KeyError, PrivateKey, PublicKey};

/// Why a signature was not accepted; the inbox says it in its 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (no Signature header)")]
    Missing,
    #[error("the Signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature algorithm `{0}` is not supported (use hs2019 or rsa-sha256)")]
    Algorithm(String),
    #[error("the signature must cover {0}")]
    Uncovered(&'static str),
    #[error("the signed header `{0}` is missing from the request")]
    HeaderMissing(String),
    #[error("the signer's public key is unusable: {0}")]
    Key(KeyError),
    #[error("the signature does not match the request")]
    Mismatch,
}

/// A parsed `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: String,
    pub algorithm: Option<String>,
    /// Lower case, in the order signed.
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
}

impl SignatureHeader {
    /// Parses `keyId="…",algorithm="…",headers="…",signature="…"`.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let (mut key_id, mut algorithm, mut headers, mut signature) = (None, None, None, None);
        for (name, value) in parameters(value)? {
            match name.to_ascii_lowercase().as_str() {
                "keyid" => key_id = Some(value),
                "algorithm" => algorithm = Some(value.to_ascii_lowercase()),
                "headers" => headers = Some(value),
                "signature" => signature = Some(value),
                _ => {}
            }
        }
        let key_id = key_id
            .filter(|k| !k.is_empty())
            .ok_or(SignatureError::Malformed("no keyId"))?;
        let signature = STANDARD
            .decode(signature.ok_or(SignatureError::Malformed("no signature"))?)
            .map_err(|_| SignatureError::Malformed("the signature is not base64"))?;
        let headers = headers
            .unwrap_or_else(|| "date".to_owned())
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        Ok(Self {
            key_id,
            algorithm,
            headers,
            signature,
        })
    }

    /// Refuses what we do not verify and signatures that leave out what makes a
    /// request unique: its target, host and date, and its body's digest.
    pub fn check_coverage(&self, has_body: bool) -> Result<(), SignatureError> {
        match self.algorithm.as_deref() {
            None | Some("hs2019" | "rsa-sha256") => {}
            Some(other) => return Err(SignatureError::Algorithm(other.chars().take(40).collect())),
        }
        let covers = |name: &str| self.headers.iter().any(|h| h == name);
        for required in ["(request-target)", "host", "date"] {
            if !covers(required) {
                return Err(SignatureError::Uncovered(required));
            }
        }
        if has_body && !covers("digest") {
            return Err(SignatureError::Uncovered("digest"));
        }
        Ok(())
    }
}

/// `name="value"` pairs separated by commas (values may hold commas inside quotes).
fn parameters(value: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let mut out = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or(SignatureError::Malformed("expected name=\"value\""))?;
        let after = after.trim_start();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or(SignatureError::Malformed("an unterminated quote"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            after.split_once(',').map_or((after, ""), |(v, a)| (v, a))
        };
        out.push((name.trim().to_owned(), value.to_owned()));
        rest = after.trim_start().trim_start_matches(',').trim_start();
        if out.len() > 16 {
            return Err(SignatureError::Malformed("too many parameters"));
        }
    }
    Ok(out)
}

/// The string a signature covers: one `name: value` line per signed header, the
/// pseudo-header `(request-target)` being `method path?query` in lower-case method.
pub fn signing_string(
    method: &str,
    path_and_query: &str,
    names: &[String],
    header: impl Fn(&str) -> Option<String>,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(names.len());
    for name in names {
        let value = if name == "(request-target)" {
            format!("{} {path_and_query}", method.to_ascii_lowercase())
        } else {
            header(name).ok_or_else(|| SignatureError::HeaderMissing(name.chars().take(40).collect()))?
        };
        lines.push(format!("{name}: {value}"));
    }
    Ok(lines.join("\n"))
}

/// The `Digest` header of a body: `SHA-256=<base64>`.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// Whether a `Digest` header (possibly listing several algorithms) carries the body's
/// SHA-256. Any other algorithm alone is not enough.
pub fn digest_matches(header: &str, body: &[u8]) -> bool {
    let want = STANDARD.encode(Sha256::digest(body));
    header.split(',').any(|part| {
        part.trim()
            .split_once('=')
            .is_some_and(|(alg, value)| alg.eq_ignore_ascii_case("sha-256") && value == want)
    })
}

/// Reads a public key as actors publish it (see [`PublicKey::from_pem`]).
pub fn public_key(pem: &str) -> Result<PublicKey, SignatureError> {
    PublicKey::from_pem(pem).map_err(SignatureError::Key)
}

/// Checks `signature` over `signing_string` with `key`.
pub fn verify(key: &PublicKey, signing_string: &str, signature: &[u8]) -> Result<(), SignatureError> {
    if key.verifies(signing_string.as_bytes(), signature) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs requests as one actor's key.
#[derive(Clone)]
pub struct Signer {
    key: PrivateKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(key: PrivateKey, key_id: String) -> Self {
        Self { key, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The headers that sign a request to `url`: `Date`, `Host`, `Digest` (with a body)
    /// and `Signature`.
    pub fn headers(
        &self,
        method: &str,
        url: &url::Url,
        body: Option<&[u8]>,
        now: SystemTime,
    ) -> Result<Vec<(&'static str, String)>, KeyError> {
        let mut headers = vec![("host", host_header(url)), ("date", httpdate::fmt_http_date(now))];
        if let Some(body) = body {
            headers.push(("digest", digest_header(body)));
        }
        let mut names = vec!["(request-target)".to_owned()];
        names.extend(headers.iter().map(|(name, _)| (*name).to_owned()));
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        // Every name we list is one we just set.
        let string = signing_string(method, &target, &names, lookup).unwrap_or_default();
        let signature = STANDARD.encode(self.key.sign(string.as_bytes())?);
        headers.push((
            "signature",
            format!(
                "keyId=\"{}\",algorithm=\"hs2019\",headers=\"{}\",signature=\"{signature}\"",
                self.key_id,
                names.join(" ")
            ),
        ));
        Ok(headers)
    }
}

/// The `Host` a client sends for `url`: the host, with the port when it is not the
/// scheme's default.
pub fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::generate().unwrap_or_else(|e| panic!("{e}"))
    }

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Verifies what `Signer::headers` produced the way the inbox does.
    fn check(
        public: &PublicKey,
        method: &str,
        target: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let value = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        let parsed = SignatureHeader::parse(&value("signature").ok_or(SignatureError::Missing)?)?;
        parsed.check_coverage(!body.is_empty())?;
        if !body.is_empty() && !digest_matches(&value("digest").unwrap_or_default(), body) {
            return Err(SignatureError::Mismatch);
        }
        let string = signing_string(method, target, &parsed.headers, value)?;
        verify(public, &string, &parsed.signature)
    }

    #[test]
    fn a_signed_post_verifies_and_any_change_breaks_it() {
        let private = key();
        let public = private.public_key();
        let signer = Signer::new(private, "https://a.example/federation/actor#main-key".into());
        let body = br#"{"type":"Follow"}"#;
        let headers = signer
            .headers(
                "POST",
                &url("https://b.example:8443/federation/inbox"),
                Some(body),
                SystemTime::now(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check(&public, "POST", "/federation/inbox", &headers, body), Ok(()));
        assert!(headers.iter().any(|(n, v)| *n == "host" && v == "b.example:8443"));

        assert_eq!(
            check(&public, "POST", "/federation/inbox", &headers, br#"{"type":"Undo"}"#),
            Err(SignatureError::Mismatch),
            "another body"
        );
        assert_eq!(
            check(&public, "POST", "/federation/actor/inbox", &headers, body),
            Err(SignatureError::Mismatch),
            "another target"
        );
        let mut later = headers.clone();
        if let Some(date) = later.iter_mut().find(|(n, _)| *n == "date") {
            date.1 = httpdate::fmt_http_date(SystemTime::now() + std::time::Duration::from_secs(3600));
        }
        assert_eq!(
            check(&public, "POST", "/federation/inbox", &later, body),
            Err(SignatureError::Mismatch),
            "another date"
        );
        let other = key().public_key();
        assert_eq!(
            check(&other, "POST", "/federation/inbox", &headers, body),
            Err(SignatureError::Mismatch),
            "another key"
        );
    }

    #[test]
    fn a_signed_get_covers_the_query() {
        let private = key();
        let public = private.public_key();
        let signer = Signer::new(private, "k".into());
        let headers = signer
            .headers(
                "GET",
                &url("https://b.example/federation/actor?page=2"),
                None,
                SystemTime::now(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check(&public, "GET", "/federation/actor?page=2", &headers, b""), Ok(()));
        assert_eq!(
            check(&public, "GET", "/federation/actor?page=3", &headers, b""),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_signing_string_is_the_drafts() {
        // draft-cavage-http-signatures-12, appendix C.2 ("Basic Test").
        let names: Vec<String> = ["(request-target)", "host", "date"].map(String::from).into();
        let header = |name: &str| match name {
            "host" => Some("example.com".to_owned()),
            "date" => Some("Sun, 05 Jan 2014 21:31:40 GMT".to_owned()),
            _ => None,
        };
        assert_eq!(
            signing_string("POST", "/foo?param=value&pet=dog", &names, header),
            Ok("(request-target): post /foo?param=value&pet=dog\nhost: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT".to_owned())
        );
        let missing: Vec<String> = vec!["digest".into()];
        assert_eq!(
            signing_string("POST", "/", &missing, header),
            Err(SignatureError::HeaderMissing("digest".into()))
        );
    }

    #[test]
    fn headers_are_parsed_leniently_and_refused_clearly() {
        let parsed = SignatureHeader::parse(
            r#"keyId="https://a.example/actor#main-key", algorithm="rsa-sha256",headers="(request-target) Host date digest",signature="AAEC""#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.key_id, "https://a.example/actor#main-key");
        assert_eq!(parsed.headers, ["(request-target)", "host", "date", "digest"]);
        assert_eq!(parsed.signature, [0, 1, 2]);
        assert_eq!(parsed.check_coverage(true), Ok(()));

        assert_eq!(
            SignatureHeader::parse("signature=\"AA==\""),
            Err(SignatureError::Malformed("no keyId"))
        );
        assert_eq!(
            SignatureHeader::parse("keyId=\"k\""),
            Err(SignatureError::Malformed("no signature"))
        );
        assert!(SignatureHeader::parse("keyId=\"k,signature=\"AA==\"").is_err());
        assert!(SignatureHeader::parse("garbage").is_err());
        let no_digest = SignatureHeader::parse(r#"keyId="k",headers="(request-target) host date",signature="AA==""#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(no_digest.check_coverage(true), Err(SignatureError::Uncovered("digest")));
        assert_eq!(no_digest.check_coverage(false), Ok(()));
        let date_only = SignatureHeader::parse(r#"keyId="k",signature="AA==""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            date_only.check_coverage(false),
            Err(SignatureError::Uncovered("(request-target)"))
        );
        let hmac = SignatureHeader::parse(
            r#"keyId="k",algorithm="hmac-sha256",headers="(request-target) host date",signature="AA==""#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            hmac.check_coverage(false),
            Err(SignatureError::Algorithm("hmac-sha256".into()))
        );
    }

    #[test]
    fn digests_must_be_sha256_of_the_body() {
        let header = digest_header(b"hello");
        assert_eq!(header, "SHA-256=LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
        assert!(digest_matches(&header, b"hello"));
        assert!(digest_matches(&format!("SHA-512=abc, {header}"), b"hello"));
        assert!(!digest_matches(&header, b"hello!"));
        assert!(!digest_matches("SHA-512=abc", b"hello"));
    }
}
