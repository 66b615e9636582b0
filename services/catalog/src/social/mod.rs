//! The social side of the catalog: communities (membership, moderators, approval
//! policies), comments and questions with accepted answers, and people's profiles.

pub mod comments;
pub mod communities;
pub mod people;
