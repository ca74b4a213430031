//! The one effective model of the stack: nginx → pool → php.ini → WordPress.

pub mod fpm_keys;
pub mod fpm_validate;
pub mod load;

use crate::source::SourceMap;

#[derive(Debug, Default)]
pub struct Stack {
    pub sources: SourceMap,
}
