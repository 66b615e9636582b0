//! One suite, both stores: the local folder and a real S3 server (s3s-fs, which checks
//! SigV4 signatures), so the two can't drift apart.

use bytes::Bytes;
use futures_util::TryStreamExt;
use skillreel_storage::{LocalStore, ObjectKey, S3Store, Storage, StorageError, put_bytes};

fn key(raw: &str) -> ObjectKey {
    ObjectKey::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

async fn read_all(store: &dyn Storage, k: &ObjectKey, range: Option<(u64, u64)>) -> Vec<u8> {
    let body = store.get(k, range).await.unwrap_or_else(|e| panic!("get {k}: {e}"));
    let chunks: Vec<Bytes> = body.stream.try_collect().await.unwrap_or_else(|e| panic!("{e}"));
    chunks.concat()
}

/// A pattern that makes misplaced bytes visible.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn suite(store: &dyn Storage) {
    store.ping().await.unwrap_or_else(|e| panic!("ping: {e}"));

    // small object, whole and in ranges
    let small = key("videos/a/hls/master.m3u8");
    put_bytes(
        store,
        &small,
        Bytes::from_static(b"#EXTM3U\nhello"),
        "application/vnd.apple.mpegurl",
    )
    .await
    .unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(store.size(&small).await.ok(), Some(13));
    assert_eq!(read_all(store, &small, None).await, b"#EXTM3U\nhello");
    assert_eq!(read_all(store, &small, Some((8, 12))).await, b"hello");
    assert!(matches!(
        store.get(&small, Some((5, 13))).await,
        Err(StorageError::InvalidRange { .. })
    ));

    // a streamed write larger than one S3 part (8 MiB) becomes a multipart upload
    let big = key("videos/a/source");
    let data = pattern(9 * 1024 * 1024 + 123);
    let mut writer = store.writer(&big, "video/mp4").await.unwrap_or_else(|e| panic!("{e}"));
    for chunk in data.chunks(1_000_003) {
        writer
            .write(Bytes::copy_from_slice(chunk))
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
    assert!(
        matches!(store.size(&big).await, Err(StorageError::NotFound(_))),
        "visible before finish"
    );
    assert_eq!(writer.finish().await.ok(), Some(data.len() as u64));
    assert_eq!(store.size(&big).await.ok(), Some(data.len() as u64));
    let tail_start = data.len() as u64 - 1000;
    assert_eq!(
        read_all(store, &big, Some((tail_start, data.len() as u64 - 1))).await,
        &data[tail_start as usize..]
    );

    // download to a file is byte-identical
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let local = dir.path().join("copy");
    assert_eq!(store.download_to(&big, &local).await.ok(), Some(data.len() as u64));
    assert_eq!(std::fs::read(&local).unwrap_or_default(), data);

    // upload a file
    let uploaded = key("videos/a/hls/720p/seg_00000.m4s");
    store
        .put_file(&uploaded, &local, "video/iso.segment")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.size(&uploaded).await.ok(), Some(data.len() as u64));

    // an aborted write leaves nothing
    let aborted = key("videos/b/source");
    let mut writer = store
        .writer(&aborted, "video/mp4")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    writer
        .write(Bytes::from(pattern(9 * 1024 * 1024)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    writer.abort().await.unwrap_or_else(|e| panic!("abort: {e}"));
    assert!(matches!(store.size(&aborted).await, Err(StorageError::NotFound(_))));

    // missing objects are NotFound, not errors
    assert!(matches!(
        store.get(&key("videos/none"), None).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.download_to(&key("videos/none"), &dir.path().join("x")).await,
        Err(StorageError::NotFound(_))
    ));

    // deleting a prefix removes everything under it, and nothing beside it
    let neighbour = key("videos/ab/source");
    put_bytes(store, &neighbour, Bytes::from_static(b"keep me"), "video/mp4")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .delete_prefix(&key("videos/a"))
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    for gone in [&small, &big, &uploaded] {
        assert!(
            matches!(store.size(gone).await, Err(StorageError::NotFound(_))),
            "{gone} survived"
        );
    }
    assert_eq!(store.size(&neighbour).await.ok(), Some(7));
    store
        .delete_prefix(&key("videos/never-was"))
        .await
        .unwrap_or_else(|e| panic!("deleting nothing: {e}"));
}

/// Parts written over several requests: a re-sent part replaces its first version, and
/// the object is exactly the parts in order.
async fn parts_suite(store: &dyn Storage) {
    let k = key("videos/p/source");
    let multipart = store.begin_parts(&k).await.unwrap_or_else(|e| panic!("begin: {e}"));
    let min = store.min_part_size().max(1);
    let (first, second, last) = (
        pattern(min.max(6 * 1024 * 1024)),
        vec![7u8; min.max(5 * 1024 * 1024)],
        b"tail".to_vec(),
    );
    let a = store
        .put_part(&k, multipart.as_deref(), 1, 0, Bytes::from(first.clone()))
        .await;
    // A failed request stored part 2 with other bytes (and more of them) …
    let junk = vec![9u8; second.len() + 1000];
    store
        .put_part(&k, multipart.as_deref(), 2, first.len() as u64, Bytes::from(junk))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // … and the retry replaces it.
    let b = store
        .put_part(
            &k,
            multipart.as_deref(),
            2,
            first.len() as u64,
            Bytes::from(second.clone()),
        )
        .await;
    let c = store
        .put_part(
            &k,
            multipart.as_deref(),
            3,
            (first.len() + second.len()) as u64,
            Bytes::from(last.clone()),
        )
        .await;
    let parts = vec![
        (1, a.unwrap_or_else(|e| panic!("{e}"))),
        (2, b.unwrap_or_else(|e| panic!("{e}"))),
        (3, c.unwrap_or_else(|e| panic!("{e}"))),
    ];
    let expected = [first, second, last].concat();
    store
        .complete_parts(&k, multipart.as_deref(), &parts, expected.len() as u64)
        .await
        .unwrap_or_else(|e| panic!("complete: {e}"));
    assert_eq!(read_all(store, &k, None).await, expected);

    // An aborted write leaves nothing behind.
    let aborted = key("videos/q/source");
    let multipart = store.begin_parts(&aborted).await.unwrap_or_else(|e| panic!("{e}"));
    store
        .put_part(&aborted, multipart.as_deref(), 1, 0, Bytes::from(vec![1u8; 100]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .abort_parts(&aborted, multipart.as_deref())
        .await
        .unwrap_or_else(|e| panic!("abort: {e}"));
    assert!(matches!(store.size(&aborted).await, Err(StorageError::NotFound(_))));
}

#[tokio::test]
async fn the_local_store_passes_the_suite() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = LocalStore::new(root.path()).await.unwrap_or_else(|e| panic!("{e}"));
    suite(&store).await;
    parts_suite(&store).await;
}

#[tokio::test]
async fn the_s3_store_passes_the_suite() {
    let store = S3Store::new(&skillreel_testkit::s3_settings())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    suite(&store).await;
    parts_suite(&store).await;
}

#[tokio::test]
async fn an_unreachable_s3_store_reports_a_transient_error() {
    let mut settings = skillreel_testkit::s3_settings();
    settings.endpoint = Some("http://127.0.0.1:9".into());
    settings.create_bucket = false;
    let store = S3Store::new(&settings).await.unwrap_or_else(|e| panic!("{e}"));
    let err = store.ping().await.err();
    assert!(err.as_ref().is_some_and(StorageError::is_transient), "{err:?}");
}

#[tokio::test]
async fn wrong_s3_credentials_are_refused_by_the_server() {
    let mut settings = skillreel_testkit::s3_settings();
    settings.create_bucket = false;
    settings.secret_access_key = skillreel_config::Secret::new("not-the-secret".into());
    let store = S3Store::new(&settings).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(store.ping().await.is_err());
}
