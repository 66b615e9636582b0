//! Telling people what happened: the inbox, and webhooks (the event consumer that fans
//! notifications out to delivery jobs, the deliverer, which sends them where the
//! egress policy of `skillreel_web::egress` allows).

pub mod inbox;
pub mod webhooks;
