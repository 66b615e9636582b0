//! Skillreel's settings, one typed tree for every service.
//!
//! Layers, later wins: built-in defaults < a TOML file (`--config`, or
//! `SKILLREEL_CONFIG`) < `SKILLREEL__SECTION__KEY` environment variables (plus the
//! conventional `DATABASE_URL`) < command-line flags, which callers merge in last with
//! [`Settings::load_with`]. There are no global statics: tests build their own value.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that must never reach a log line.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    pub const fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub auth: AuthSettings,
    pub media: MediaSettings,
    pub upload: UploadSettings,
    pub transcoder: TranscoderSettings,
    pub catalog: CatalogSettings,
    pub learning: LearningSettings,
    pub recommendations: RecommendationSettings,
    pub xapi: XapiSettings,
    pub federation: FederationSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// The URL clients reach this deployment at; media URLs are built from it. Defaults
    /// to the request's own scheme and host.
    pub public_url: Option<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    pub url: Secret<String>,
    pub max_connections: u32,
    /// Run pending migrations at start-up (the dev command and small deployments).
    pub migrate: bool,
    /// A statement running longer is cancelled (503 `overloaded`), so a slow query
    /// cannot hold a connection while requests pile up behind it. 0: no limit.
    pub statement_timeout_ms: u64,
    /// How long a request waits for a free connection before it is shed with 503
    /// `overloaded` and `Retry-After`.
    pub acquire_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("postgres://postgres@127.0.0.1:5432/skillreel".into()),
            max_connections: 20,
            migrate: false,
            statement_timeout_ms: 5_000,
            acquire_timeout_ms: 2_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    #[default]
    Local,
    S3,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    /// Root folder of the local store.
    pub local_root: PathBuf,
    pub s3: S3Settings,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            local_root: "data/media".into(),
            s3: S3Settings::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    /// e.g. `https://s3.eu-west-1.amazonaws.com` or a Garage/MinIO URL; empty for AWS.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most self-hosted stores need.
    pub force_path_style: bool,
    /// Create the bucket at start-up if it is missing (development and tests).
    pub create_bucket: bool,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "skillreel".into(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            force_path_style: true,
            create_bucket: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Development: tokens signed with this shared secret (HS256).
    pub hs256_secret: Option<Secret<String>>,
    /// Production: the identity provider's JWKS; tokens must be RS256 or ES256.
    pub jwks_url: Option<String>,
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`.
    pub leeway_seconds: u64,
    /// The JWKS is fetched again (for a token naming an unknown key) at most this
    /// often, so made-up `kid`s cannot make us flood the identity provider.
    pub jwks_min_refresh_seconds: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            jwks_url: None,
            issuer: "skillreel-dev".into(),
            audience: "skillreel".into(),
            leeway_seconds: 30,
            jwks_min_refresh_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaSettings {
    /// Key that signs playback URLs, so a player needs no `Authorization` header.
    pub signing_key: Secret<String>,
    /// How long a signed playback URL stays valid.
    pub url_ttl_seconds: u64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            signing_key: Secret::default(),
            url_ttl_seconds: 6 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogSettings {
    /// Flags from this many people send a published video back to review.
    pub flag_threshold: i32,
    /// How long a published video (and a reader's likes and memberships) may be served
    /// from memory; 0 turns the read cache off. Changes reach every replica at once by
    /// `NOTIFY`; this only bounds what a missed notification could leave behind.
    pub cache_ttl_seconds: u64,
    /// Videos (and, as many, readers) the read cache holds per process.
    pub cache_entries: usize,
    /// Webhook hosts (names or IPs) allowed although they are private, loopback or
    /// link-local addresses; every other webhook must reach a public address.
    pub webhook_allowed_hosts: Vec<String>,
    /// How often likes, views and completions are folded into the popular and trending
    /// scores (one update per video per fold, however many engagements it had).
    pub score_fold_interval_ms: u64,
    /// Answer searches from a search index (Tantivy) this replica keeps up to date;
    /// `false` answers them from PostgreSQL's full-text search.
    pub search_index: bool,
    /// Where this replica keeps its search index, so a restart continues from where it
    /// stopped instead of building it again (one directory per replica). Unset: in
    /// memory, built at every start.
    pub search_index_dir: Option<std::path::PathBuf>,
    /// Point reads (`GET /videos/{id}`) asked of the database at once, each statement
    /// for all the reads waiting when it starts (up to 64): fewer, larger statements
    /// under load, a read alone at once when quiet. 0: each read its own statement.
    pub point_read_lanes: usize,
    /// First pages of the lists most people ask for (the feed, popular, trending, one
    /// tag, one community; the default size, to readers who are not admins) asked of the
    /// database at once, each statement for all that wait when it starts (up to 64).
    /// 0: each listing its own statement.
    pub list_lanes: usize,
    /// Searches answered by the index ask the database twice (who the reader is and how
    /// far the index must be, then the page's videos); searches that arrive together
    /// share each of those statements, this many in flight at once (up to 64 searches
    /// each). 0: each search its own statements.
    pub search_lanes: usize,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self {
            flag_threshold: 3,
            cache_ttl_seconds: 30,
            cache_entries: 50_000,
            webhook_allowed_hosts: Vec::new(),
            score_fold_interval_ms: 1_000,
            search_index: true,
            search_index_dir: None,
            point_read_lanes: 2,
            list_lanes: 2,
            search_lanes: 2,
        }
    }
}

/// Which instances this one federates with, and how (see `docs/FEDERATION.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FederationMode {
    /// Only instances an admin followed or allowed: partners, not the public.
    #[default]
    Allowlist,
    /// Any instance that is not blocked.
    Open,
}

/// ActivityPub federation with other instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FederationSettings {
    /// Off: no actor, no inbox, nothing sent; the discovery documents answer 404.
    pub enabled: bool,
    /// The URL other instances reach this one at (its actor's id starts with it).
    /// Defaults to `server.public_url`, then to `http://{server.host}:{port}`.
    pub public_url: Option<String>,
    pub mode: FederationMode,
    /// Accept follows from instances that are not allowlisted (open mode only; an
    /// allowlisted instance's follow is always accepted).
    pub auto_accept: bool,
    /// Hosts (names or IPs) federation may reach although they are private, loopback
    /// or link-local addresses (two instances on one machine, a private network).
    pub allowed_private_hosts: Vec<String>,
    /// How far a signed request's `Date` may be from our clock.
    pub signature_window_seconds: u64,
    /// Largest activity accepted in an inbox.
    pub max_activity_bytes: usize,
    /// A cached remote key older than this is fetched again when a signature fails
    /// with it (the sender may have rotated it).
    pub key_refresh_seconds: u64,
    /// Consecutive failed deliveries that open an instance's circuit…
    pub circuit_failures: i32,
    /// …for this long, during which nothing is sent to it.
    pub circuit_open_seconds: u64,
    /// An instance unreachable this long is given up: its queued deliveries fail.
    pub give_up_after_hours: u64,
    /// Keep a copy of partners' videos (HLS and poster) in our storage and play them
    /// from here, instead of from their origin.
    pub mirror_media: bool,
    /// Largest video mirrored (all its files); a larger one plays from its origin.
    pub mirror_max_bytes: u64,
}

impl Default for FederationSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            public_url: None,
            mode: FederationMode::Allowlist,
            auto_accept: false,
            allowed_private_hosts: Vec::new(),
            signature_window_seconds: 300,
            max_activity_bytes: 256 * 1024,
            key_refresh_seconds: 60,
            circuit_failures: 5,
            circuit_open_seconds: 300,
            give_up_after_hours: 48,
            mirror_media: false,
            mirror_max_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// The learning record as xAPI statements, and the LRS they are sent to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct XapiSettings {
    /// The LRS's xAPI base URL (statements go to `{endpoint}statements`, e.g.
    /// `https://lrs.example/xAPI/`); none keeps them here only.
    pub endpoint: Option<String>,
    /// Basic auth to the LRS.
    pub username: String,
    pub password: Secret<String>,
    /// The `homePage` of the people's accounts and the base of activity ids.
    pub home_page: String,
    /// Statements sent per request.
    pub batch_size: i64,
    /// Longest wait between attempts while the LRS refuses or is down (doubling from 1 s).
    pub retry_max_seconds: u64,
    /// How often new statements are looked for.
    pub poll_ms: u64,
}

impl Default for XapiSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            username: String::new(),
            password: Secret::new(String::new()),
            home_page: "http://localhost:8080".into(),
            batch_size: 50,
            retry_max_seconds: 300,
            poll_ms: 2_000,
        }
    }
}

/// Journeys, assignments and progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LearningSettings {
    /// An assignee is reminded this long before an assignment is due.
    pub reminder_lead_hours: u64,
    /// How often due dates are checked for reminders and overdue notices (any number
    /// of replicas may check; each notice is sent once).
    pub scheduler_interval_ms: u64,
    /// Steps a journey may have.
    pub max_steps: usize,
    /// People one assignment request may reach (a team counts each member).
    pub max_assignees: usize,
    /// How long heartbeats may use a video's facts (owner, state, audience, length)
    /// without asking the database; 0 asks every time.
    pub video_cache_seconds: u64,
}

/// Colleagues recommending journeys and videos to each other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RecommendationSettings {
    /// People one recommendation may reach (a team counts each member).
    pub max_recipients: usize,
    /// People one person may recommend to in any hour, over all their recommendations.
    pub recipients_per_hour: usize,
    /// How often the "for you" lists are rebuilt (by one replica at a time).
    pub model_interval_seconds: u64,
    /// Places of each "for you" page (up to one in five) kept for new videos.
    pub exploration_slots: usize,
    /// "For you" pages a replica computes at once; more wait in line, first come first
    /// served, as long as for a database connection. About the database's cores per
    /// replica: more only time-slices them, lengthening every page (see `Bulkhead`).
    pub for_you_concurrency: usize,
}

impl Default for RecommendationSettings {
    fn default() -> Self {
        Self {
            max_recipients: 50,
            recipients_per_hour: 200,
            model_interval_seconds: 600,
            exploration_slots: 1,
            for_you_concurrency: 4,
        }
    }
}

impl Default for LearningSettings {
    fn default() -> Self {
        Self {
            reminder_lead_hours: 24,
            scheduler_interval_ms: 30_000,
            max_steps: 50,
            max_assignees: 1_000,
            video_cache_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadSettings {
    /// Largest accepted upload in bytes.
    pub max_size_bytes: u64,
    /// How long an unfinished resumable upload is kept.
    pub expiry_seconds: u64,
    /// How often abandoned uploads are looked for and removed.
    pub sweep_seconds: u64,
    /// All of one person's sources together.
    pub user_quota_bytes: u64,
    /// What one person may upload in 24 hours.
    pub daily_quota_bytes: u64,
    /// Keep the original after transcoding, so a video can be transcoded again with a
    /// new ladder.
    pub keep_source: bool,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            max_size_bytes: 2 * 1024 * 1024 * 1024,
            expiry_seconds: 24 * 3600,
            sweep_seconds: 300,
            user_quota_bytes: 50 * 1024 * 1024 * 1024,
            daily_quota_bytes: 10 * 1024 * 1024 * 1024,
            keep_source: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscoderSettings {
    /// Jobs one worker process runs at once.
    pub concurrency: usize,
    pub lease_seconds: u64,
    pub heartbeat_seconds: u64,
    pub max_attempts: i32,
    /// Upper bound on one transcode; a job past it fails rather than hang.
    pub job_timeout_seconds: u64,
    /// Where sources are downloaded and renditions written before upload.
    pub work_dir: Option<PathBuf>,
    /// Fallback poll interval when no NOTIFY arrives.
    pub poll_seconds: u64,
    /// Rendition heights to produce, never above the source's.
    pub ladder: Vec<u32>,
    /// The microlearning limit: longer sources fail with a reason.
    pub max_duration_seconds: u64,
    /// Shorter sources fail with a reason.
    pub min_duration_seconds: f64,
    /// The program each transcode runs in (a child process the worker can kill):
    /// `skillreel-transcoder` or `skillreel`. Default: this binary, or
    /// `skillreel-transcoder` beside it.
    pub media_program: Option<PathBuf>,
    /// Memory one transcode may use (its data segment), in MiB; past it the
    /// transcode fails instead of the machine swapping.
    pub max_memory_mb: u64,
}

impl Default for TranscoderSettings {
    fn default() -> Self {
        Self {
            concurrency: 1,
            lease_seconds: 60,
            heartbeat_seconds: 10,
            max_attempts: 5,
            job_timeout_seconds: 30 * 60,
            work_dir: None,
            poll_seconds: 5,
            ladder: vec![240, 360, 480, 720, 1080],
            max_duration_seconds: 15 * 60,
            min_duration_seconds: 1.0,
            media_program: None,
            max_memory_mb: 6 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// An `EnvFilter` directive; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info,sqlx=warn".into(),
        }
    }
}

/// A settings value that could not be read, with where it went wrong.
#[derive(Debug)]
pub struct ConfigError(Box<figment::Error>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Defaults, then the file, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, Figment::new())
    }

    /// Like [`Settings::load`], with `overrides` (command-line flags) merged last.
    pub fn load_with(file: Option<&Path>, overrides: Figment) -> Result<Self, ConfigError> {
        Self::figment(file)
            .merge(overrides)
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    fn figment(file: Option<&Path>) -> Figment {
        let env_file = std::env::var_os("SKILLREEL_CONFIG").map(PathBuf::from);
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file.map(Path::to_path_buf).or(env_file) {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
            .merge(Env::prefixed("SKILLREEL__").split("__"))
    }
}

#[cfg(test)]
// figment's `Jail` closures must return its (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "skillreel.toml",
                "[server]\nport = 9000\nhost = \"0.0.0.0\"\n[storage]\nbackend = \"s3\"",
            )?;
            jail.set_env("SKILLREEL__SERVER__PORT", "9100");
            jail.set_env("SKILLREEL__STORAGE__S3__BUCKET", "videos");
            jail.set_env("DATABASE_URL", "postgres://db/x");
            let s = Settings::load(Some(Path::new("skillreel.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.server.port, 9100);
            assert_eq!(s.server.host, "0.0.0.0");
            assert_eq!(s.storage.backend, StorageBackend::S3);
            assert_eq!(s.storage.s3.bucket, "videos");
            assert_eq!(s.database.url.expose(), "postgres://db/x");
            assert_eq!(s.transcoder.ladder, vec![240, 360, 480, 720, 1080]);
            Ok(())
        });
    }

    #[test]
    fn a_secret_is_redacted_in_debug_output() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn a_bad_value_is_reported_not_ignored() {
        Jail::expect_with(|jail| {
            jail.set_env("SKILLREEL__SERVER__PORT", "not-a-port");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }
}
