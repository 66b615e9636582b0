//! `S3Store`: storage in any S3-compatible object store, multipart uploads included.

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use skillreel_config::S3Settings;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use crate::{ObjectBody, ObjectKey, ObjectWriter, Result, Storage, StorageError, check_range};

/// Part size of streamed writes: above S3's 5 MiB minimum, small enough that a write
/// holds little memory.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Objects in one bucket of an S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

/// Maps an SDK error: a 404 is `NotFound`, anything else is a remote failure with the
/// store's own code and message (worth a retry).
fn remote<E, R>(key: &str) -> impl Fn(SdkError<E, R>) -> StorageError + '_
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    move |err| {
        let status = err.raw_response().map(HttpStatus::status);
        if status == Some(404) {
            return StorageError::NotFound(key.to_owned());
        }
        let detail = match err.as_service_error() {
            Some(service) => format!(
                "{}: {}",
                service.code().unwrap_or("error"),
                service.message().unwrap_or("no message")
            ),
            None => format!("{err}"),
        };
        StorageError::Remote(format!("{detail} (key `{key}`)"))
    }
}

/// The HTTP status of a raw SDK response, whatever its type.
trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

impl S3Store {
    pub async fn new(settings: &S3Settings) -> Result<Self> {
        let credentials = Credentials::new(
            &settings.access_key_id,
            settings.secret_access_key.expose(),
            None,
            None,
            "skillreel-settings",
        );
        let mut config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(settings.force_path_style)
            // Checksums only where the API demands them: S3-compatible stores differ
            // in their support for the newer flexible-checksum trailers.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = settings.endpoint.as_deref().filter(|e| !e.is_empty()) {
            config = config.endpoint_url(endpoint);
        }
        let store = Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
        };
        if settings.create_bucket {
            store.create_bucket().await?;
        }
        Ok(store)
    }

    async fn create_bucket(&self) -> Result<()> {
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()) =>
            {
                Ok(())
            }
            Err(e) => Err(remote(&self.bucket)(e)),
        }
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(remote(prefix))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(keys),
            }
        }
    }
}

#[async_trait]
impl Storage for S3Store {
    async fn put_file(&self, key: &ObjectKey, path: &Path, content_type: &str) -> Result<()> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(remote(key.as_str()))?;
        Ok(())
    }

    async fn writer(&self, key: &ObjectKey, content_type: &str) -> Result<Box<dyn ObjectWriter>> {
        Ok(Box::new(S3Writer {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_string(),
            content_type: content_type.to_owned(),
            buffer: BytesMut::with_capacity(PART_SIZE),
            upload_id: None,
            parts: Vec::new(),
            written: 0,
        }))
    }

    async fn size(&self, key: &ObjectKey) -> Result<u64> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(remote(key.as_str()))?;
        Ok(head.content_length().unwrap_or(0).max(0) as u64)
    }

    async fn get(&self, key: &ObjectKey, range: Option<(u64, u64)>) -> Result<ObjectBody> {
        let total_size = self.size(key).await?;
        let (start, end) = check_range(range, total_size)?;
        let mut request = self.client.get_object().bucket(&self.bucket).key(key.as_str());
        if total_size > 0 {
            request = request.range(format!("bytes={start}-{end}"));
        }
        let object = request.send().await.map_err(remote(key.as_str()))?;
        let stream = ReaderStream::with_capacity(object.body.into_async_read(), 64 * 1024).boxed();
        Ok(ObjectBody {
            total_size,
            range: (start, end),
            stream,
        })
    }

    async fn download_to(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(remote(key.as_str()))?;
        let mut reader = object.body.into_async_read();
        let mut file = tokio::fs::File::create(path).await?;
        let copied = tokio::io::copy(&mut reader, &mut file).await?;
        file.flush().await?;
        Ok(copied)
    }

    async fn delete_prefix(&self, prefix: &ObjectKey) -> Result<()> {
        // The object itself or everything "inside" it as a folder, but not its
        // neighbours (`videos/a` must not take `videos/ab` with it). Only keys that
        // exist are deleted.
        let folder = format!("{}/", prefix.as_str());
        let keys = self.list_keys(prefix.as_str()).await?;
        for key in keys.iter().filter(|k| *k == prefix.as_str() || k.starts_with(&folder)) {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(remote(key))?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(remote(&self.bucket))?;
        Ok(())
    }

    async fn begin_parts(&self, key: &ObjectKey) -> Result<Option<String>> {
        create_multipart(&self.client, &self.bucket, key.as_str(), None)
            .await
            .map(Some)
    }

    async fn put_part(
        &self,
        key: &ObjectKey,
        multipart: Option<&str>,
        number: i32,
        _offset: u64,
        body: Bytes,
    ) -> Result<String> {
        upload_part(&self.client, &self.bucket, key.as_str(), multipart, number, body).await
    }

    async fn complete_parts(
        &self,
        key: &ObjectKey,
        multipart: Option<&str>,
        parts: &[(i32, String)],
        _size: u64,
    ) -> Result<()> {
        let completed = parts
            .iter()
            .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .set_upload_id(multipart.map(str::to_owned))
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .map_err(remote(key.as_str()))?;
        Ok(())
    }

    async fn abort_parts(&self, key: &ObjectKey, multipart: Option<&str>) -> Result<()> {
        let Some(id) = multipart else { return Ok(()) };
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match remote(key.as_str())(e) {
                StorageError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    fn min_part_size(&self) -> usize {
        5 * 1024 * 1024
    }

    /// An acknowledged `UploadPart` is already durable.
    async fn sync_parts(&self, _key: &ObjectKey) -> Result<()> {
        Ok(())
    }

    async fn presign_part(
        &self,
        key: &ObjectKey,
        multipart: Option<&str>,
        number: i32,
        valid_for: std::time::Duration,
    ) -> Result<Option<String>> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(valid_for)
            .map_err(|e| StorageError::Remote(e.to_string()))?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key.as_str())
            .set_upload_id(multipart.map(str::to_owned))
            .part_number(number)
            .presigned(config)
            .await
            .map_err(remote(key.as_str()))?;
        Ok(Some(request.uri().to_owned()))
    }

    async fn list_parts(&self, key: &ObjectKey, multipart: Option<&str>) -> Result<Vec<(i32, u64, String)>> {
        let mut parts = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key.as_str())
                .set_upload_id(multipart.map(str::to_owned))
                .set_part_number_marker(marker)
                .send()
                .await
                .map_err(remote(key.as_str()))?;
            parts.extend(page.parts().iter().map(|p| {
                let size = p.size().unwrap_or(0).max(0) as u64;
                (
                    p.part_number().unwrap_or(0),
                    size,
                    p.e_tag().unwrap_or_default().to_owned(),
                )
            }));
            match page.next_part_number_marker() {
                Some(next) if page.is_truncated() == Some(true) => marker = Some(next.to_owned()),
                _ => return Ok(parts),
            }
        }
    }
}

/// Starts a multipart upload and returns its id.
async fn create_multipart(client: &Client, bucket: &str, key: &str, content_type: Option<&str>) -> Result<String> {
    let created = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .set_content_type(content_type.map(str::to_owned))
        .send()
        .await
        .map_err(remote(key))?;
    let id = created
        .upload_id()
        .ok_or_else(|| StorageError::Remote("store returned no upload id".into()))?;
    Ok(id.to_owned())
}

/// Stores one part of a multipart upload and returns its ETag.
async fn upload_part(
    client: &Client,
    bucket: &str,
    key: &str,
    multipart: Option<&str>,
    number: i32,
    body: Bytes,
) -> Result<String> {
    let uploaded = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .set_upload_id(multipart.map(str::to_owned))
        .part_number(number)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(remote(key))?;
    Ok(uploaded.e_tag().unwrap_or_default().to_owned())
}

/// A streamed write: one `PutObject` when it stays under a part, a multipart upload
/// once it grows past one.
struct S3Writer {
    client: Client,
    bucket: String,
    key: String,
    content_type: String,
    buffer: BytesMut,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    written: u64,
}

impl S3Writer {
    async fn upload_id(&mut self) -> Result<String> {
        if let Some(id) = &self.upload_id {
            return Ok(id.clone());
        }
        let id = create_multipart(&self.client, &self.bucket, &self.key, Some(&self.content_type)).await?;
        self.upload_id = Some(id.clone());
        Ok(id)
    }

    async fn flush_part(&mut self) -> Result<()> {
        let upload_id = self.upload_id().await?;
        let part_number = self.parts.len() as i32 + 1;
        let body = self.buffer.split().freeze();
        let etag = upload_part(
            &self.client,
            &self.bucket,
            &self.key,
            Some(&upload_id),
            part_number,
            body,
        )
        .await?;
        self.parts
            .push(CompletedPart::builder().part_number(part_number).e_tag(etag).build());
        Ok(())
    }
}

#[async_trait]
impl ObjectWriter for S3Writer {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        self.written += chunk.len() as u64;
        self.buffer.extend_from_slice(&chunk);
        while self.buffer.len() >= PART_SIZE {
            let rest = self.buffer.split_off(PART_SIZE);
            self.flush_part().await?;
            self.buffer = rest;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<u64> {
        if self.upload_id.is_none() {
            let body = self.buffer.split().freeze();
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type(&self.content_type)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(remote(&self.key))?;
            return Ok(self.written);
        }
        if !self.buffer.is_empty() {
            self.flush_part().await?;
        }
        let upload_id = self.upload_id().await?;
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(self.parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(remote(&self.key))?;
        Ok(self.written)
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        if let Some(upload_id) = &self.upload_id {
            self.client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(upload_id)
                .send()
                .await
                .map_err(remote(&self.key))?;
        }
        Ok(())
    }
}
