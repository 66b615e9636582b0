//! Telling people what happened: the inbox, and webhooks (the event consumer that fans
//! notifications out to delivery jobs, the deliverer, and the egress policy that says
//! where they may point).

pub mod egress;
pub mod inbox;
pub mod webhooks;
