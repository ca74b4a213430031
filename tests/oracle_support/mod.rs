//! Helpers shared by the integration tests. Use with `mod support;` at the top of a
//! test file; each test crate uses only some of them.
#![allow(dead_code, unused_imports)]

pub mod corpus;
pub mod files;
pub mod nginx;
pub mod oracle;

pub use corpus::{corpus_dir, corpus_list};
pub use files::files_under;
pub use oracle::oracle;
