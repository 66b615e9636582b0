//! Recommendations over HTTP: a colleague's recommendation reaches the recipient's
//! inbox, their list (with who recommended it, truly) and their assignments as
//! `peerRecommended`; dismissing and saving; never to someone who may not see the
//! item; the hourly limit, also under concurrent requests; follows; people who share a
//! passion; and every bad input refused without a change.

#[path = "../support/mod.rs"]
mod support;

mod follows;
mod for_you;
mod peers;
mod people;

use std::time::Duration as StdDuration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::assert_problem;
use support::org::{Org, org};
use time::Duration;
use uuid::Uuid;

/// The caller's peer recommendations in `state`.
async fn peer_list(o: &Org, who: &str, state: &str) -> Vec<Value> {
    let page = o
        .ok(
            Method::GET,
            &format!("/api/v1/me/recommendations?source=peers&state={state}"),
            who,
            None,
            StatusCode::OK,
        )
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The caller's assignments.
async fn assignments(o: &Org, who: &str) -> Vec<Value> {
    let page = o
        .ok(Method::GET, "/api/v1/me/assignments", who, None, StatusCode::OK)
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits (up to 20 s) until `who`'s assignments satisfy `done`, which the
/// `peer_assignments` consumer brings about in the background; returns them.
async fn assignments_until(o: &Org, who: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        let items = assignments(o, who).await;
        if done(&items) {
            return items;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("assignments never got there: {:?}", assignments(o, who).await);
}

/// The assignment of `item` on a list, if any.
fn assignment_of(items: &[Value], item: Uuid) -> Option<&Value> {
    items.iter().find(|a| a["item"]["id"] == item.to_string())
}
