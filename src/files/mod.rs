//! Files: the one place wpstack writes (reads and path resolution: `crate::source`,
//! `crate::stack::load`).

pub mod write;
