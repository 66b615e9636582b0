//! The domain-event outbox against a real PostgreSQL: transactions commit out of order
//! while a consumer reads, one consumer is killed mid-batch (its database session
//! terminated, its task dropped), and still every committed event is handled exactly
//! once inside the consumer's transaction, at least once outside it, and never one that
//! was rolled back.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::json;
use skillreel_queue::QueueError;
use skillreel_queue::events::{self, NewEvent, StoredEvent};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use uuid::Uuid;

const CONSUMER: &str = "test-sink";
const PUBLISHERS: usize = 6;
const PER_PUBLISHER: usize = 40;

fn event(object: Uuid, n: usize) -> NewEvent<'static> {
    NewEvent {
        kind: "test.happened",
        version: 1,
        actor: None,
        object_type: "thing",
        object,
        payload: json!({ "n": n }),
    }
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Publishes events in transactions that hold their commit for a random moment (so
/// they commit in another order than they inserted); every fourth is rolled back.
/// Returns the ids of the committed ones, per object in the order they committed.
async fn publish_concurrently(pool: &PgPool) -> (BTreeSet<Uuid>, BTreeSet<Uuid>) {
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let object = Uuid::new_v4();
            let (mut committed, mut rolled_back) = (Vec::new(), Vec::new());
            for n in 0..PER_PUBLISHER {
                let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
                let id = events::publish(&mut tx, &event(object, n))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                tokio::time::sleep(Duration::from_millis(((p * 7 + n * 13) % 5) as u64)).await;
                if n % 4 == 3 {
                    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
                    rolled_back.push(id);
                } else {
                    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
                    committed.push(id);
                }
            }
            (committed, rolled_back)
        }));
    }
    let (mut committed, mut rolled_back) = (BTreeSet::new(), BTreeSet::new());
    for task in tasks {
        let (c, r) = task.await.unwrap_or_else(|e| panic!("{e}"));
        committed.extend(c);
        rolled_back.extend(r);
    }
    (committed, rolled_back)
}

/// The consumer's two effects: a row in its own transaction (`sink_inside`), and a row
/// written outside it on another connection (`sink_outside`, like an HTTP call).
async fn handle(conn: &mut PgConnection, outside: &PgPool, event: &StoredEvent) -> Result<(), QueueError> {
    sqlx::query("insert into sink_inside (event_id, position) values ($1, $2)")
        .bind(event.id)
        .bind(event.position)
        .execute(&mut *conn)
        .await?;
    sqlx::query("insert into sink_outside (event_id) values ($1)")
        .bind(event.id)
        .execute(outside)
        .await?;
    Ok(())
}

/// Runs the consumer until it has nothing more to read.
async fn drain(pool: &PgPool) {
    events::register(&mut pool.acquire().await.unwrap_or_else(|e| panic!("{e}")), CONSUMER)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let outside = pool.clone();
    loop {
        let handled = events::consume_batch(pool, CONSUMER, 25, &mut async |conn, event| {
            handle(conn, &outside, event).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        if handled == 0 {
            return;
        }
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_consumer_killed_mid_batch_loses_nothing_and_repeats_only_outside_effects(pool: PgPool) {
    exec(
        &pool,
        "create table sink_inside (n bigserial, event_id uuid not null, position bigint not null)",
    )
    .await;
    exec(&pool, "create table sink_outside (n bigserial, event_id uuid not null)").await;

    // Publishers and a consumer at once: positions must come out in commit order.
    let (published, ()) = tokio::join!(publish_concurrently(&pool), async {
        for _ in 0..50 {
            drain(&pool).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let (committed, rolled_back) = published;

    // More events, then a consumer that dies in the middle of its batch.
    let object = Uuid::new_v4();
    let mut late = BTreeSet::new();
    for n in 0..30 {
        let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        late.insert(
            events::publish(&mut tx, &event(object, n))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    }
    // The doomed consumer terminates its own session on its tenth event and hangs; it
    // is then dropped, as a killed process would be.
    let stuck = Notify::new();
    let outside = pool.clone();
    let mut seen = 0;
    let mut dying = async |conn: &mut PgConnection, event: &StoredEvent| {
        handle(conn, &outside, event).await?;
        seen += 1;
        if seen == 10 {
            let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
                .fetch_one(&mut *conn)
                .await?;
            sqlx::query("select pg_terminate_backend($1)")
                .bind(pid)
                .execute(&outside)
                .await?;
            stuck.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    };
    let doomed = events::consume_batch(&pool, CONSUMER, 25, &mut dying);
    tokio::select! {
        done = doomed => panic!("the doomed consumer finished its batch: {done:?}"),
        () = stuck.notified() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => panic!("the doomed consumer never reached its tenth event"),
    }
    let position_after_kill = {
        let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        events::position(&mut conn, CONSUMER)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };

    // A new consumer takes over and catches up, once the killed one's session has gone
    // (its hold on the consumer goes with it; until then a claim finds it held).
    let last: i64 = sqlx::query_scalar("select max(position) from domain_event")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..300 {
        drain(&pool).await;
        let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        if events::position(&mut conn, CONSUMER)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            >= last
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let inside: Vec<(Uuid, i64)> = sqlx::query_as("select event_id, position from sink_inside order by n")
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let outside: Vec<Uuid> = sqlx::query_scalar("select event_id from sink_outside where event_id <> $1 order by n")
        .bind(Uuid::nil())
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let expected: BTreeSet<Uuid> = committed.union(&late).copied().collect();
    let inside_ids: Vec<Uuid> = inside.iter().map(|(id, _)| *id).collect();
    let inside_set: BTreeSet<Uuid> = inside_ids.iter().copied().collect();
    assert_eq!(
        inside_ids.len(),
        inside_set.len(),
        "an event was handled twice inside the transaction"
    );
    assert_eq!(
        inside_set, expected,
        "every committed event, and only those, was handled"
    );
    assert!(
        rolled_back.iter().all(|id| !inside_set.contains(id)),
        "a rolled-back event reached the consumer"
    );
    assert!(
        inside.windows(2).all(|w| w[0].1 < w[1].1),
        "events were handed over out of position order"
    );

    // Outside effects: every event at least once; the repeats are exactly the killed
    // batch's first ten, all read again after the consumer's unmoved position.
    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    for id in &outside {
        *counts.entry(*id).or_default() += 1;
    }
    assert_eq!(counts.keys().copied().collect::<BTreeSet<_>>(), expected);
    let repeated: Vec<i64> = inside
        .iter()
        .filter(|(id, _)| counts.get(id).copied().unwrap_or(0) > 1)
        .map(|(_, position)| *position)
        .collect();
    assert_eq!(
        repeated.len(),
        10,
        "only the killed batch's handled events repeat: {repeated:?}"
    );
    assert!(repeated.iter().all(|p| *p > position_after_kill));
    assert!(counts.values().all(|n| *n <= 2));

    // A consumer that de-duplicates on the event id sees each exactly once.
    let deduplicated: BTreeSet<Uuid> = outside.iter().copied().collect();
    assert_eq!(deduplicated.len(), expected.len());
}

/// Events about one object reach the consumer in the order their transactions
/// committed, even when a later insert commits first.
#[sqlx::test(migrations = "../../migrations")]
async fn positions_follow_commit_order_not_insert_order(pool: PgPool) {
    let object = Uuid::new_v4();
    let mut first = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let early = events::publish(&mut first, &event(object, 1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut second = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let late = events::publish(&mut second, &event(object, 2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    second.commit().await.unwrap_or_else(|e| panic!("{e}"));

    // The consumer reads what has committed: only the second insert.
    let mut conn = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    events::register(&mut conn, CONSUMER)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let batch = events::claim_batch(&mut conn, CONSUMER, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_default();
    assert_eq!(batch.iter().map(|e| e.id).collect::<Vec<_>>(), vec![late]);
    let last = batch[0].position;
    events::advance(&mut conn, CONSUMER, last)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    conn.commit().await.unwrap_or_else(|e| panic!("{e}"));

    // The first commits after: its position comes after, so it is not skipped.
    first.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let mut conn = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let batch = events::claim_batch(&mut conn, CONSUMER, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_default();
    assert_eq!(batch.iter().map(|e| e.id).collect::<Vec<_>>(), vec![early]);
    assert!(batch[0].position > last);
}

/// Two replicas running the same consumer: one holds it, the other finds it busy.
#[sqlx::test(migrations = "../../migrations")]
async fn one_replica_at_a_time_holds_a_consumer(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    events::publish(&mut tx, &event(Uuid::new_v4(), 0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    events::register(&mut conn, CONSUMER)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut holder = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let held = events::claim_batch(&mut holder, CONSUMER, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(held.map(|b| b.len()), Some(1));
    let mut other = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let busy = events::claim_batch(&mut other, CONSUMER, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(busy.is_none(), "a second replica got the consumer while it was held");
}
