//! Recognition over HTTP: reputation from likes, recommendations, completions,
//! accepted answers and kudos, each explained; self-dealing, bursts and rings of mutual
//! likes damped; kudos only from the manager chain or an admin; badges once, also
//! under concurrency; the monthly top contributor; leaderboards by period and scope;
//! who sees a person's history; participation analytics.

#[path = "../support/mod.rs"]
mod support;

mod badges;
mod kudos;
mod leaderboard;
mod participation;
mod reputation;

use std::time::Duration as StdDuration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::assert_problem;
use support::org::{Org, id_of, org};
use uuid::Uuid;

/// `who`'s recognition as `viewer` sees it.
async fn recognition(o: &Org, viewer: &str, who: Uuid) -> Value {
    o.ok(
        Method::GET,
        &format!("/api/v1/users/{who}/recognition?limit=100"),
        viewer,
        None,
        StatusCode::OK,
    )
    .await
}

/// Waits (up to 20 s) until `who` has `entries` entries in the ledger, which the
/// `reputation` consumer writes in the background; returns their recognition as they
/// see it.
async fn settled(o: &Org, who: &str, entries: usize) -> Value {
    let id = o.id(who);
    for _ in 0..200 {
        let seen = recognition(o, o.token(who), id).await;
        if seen["history"].as_array().map(Vec::len) == Some(entries) {
            return seen;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!(
        "{who} never had {entries} entries: {}",
        recognition(o, o.token(who), id).await
    );
}

/// The reasons of a recognition's history, sorted.
fn reasons_of(recognition: &Value) -> Vec<String> {
    let mut reasons: Vec<String> = recognition["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|e| e["reason"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    reasons.sort();
    reasons
}

/// `who` likes `video`.
async fn like(o: &Org, who: &str, video: Uuid) {
    o.ok(
        Method::PUT,
        &format!("/api/v1/videos/{video}/like"),
        who,
        None,
        StatusCode::OK,
    )
    .await;
}
