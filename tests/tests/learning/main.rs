//! Learning over HTTP: journeys and what a viewer may see of their steps, assignments
//! within the org chart, overdue on a manual clock, progress from heartbeats (seeks,
//! two devices, journey completion, a removed video), reminders once with two
//! replicas, team reports, and every bad input refused without a change.

#[path = "../support/mod.rs"]
mod support;

mod assignments;
mod journeys;
mod progress;
mod xapi;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::assert_problem;
use support::org::{Org, id_of, org, start};
use time::Duration;
use uuid::Uuid;
