//! TEMPORARY stub: replaced by the nginx include loader.
use super::load::LoadProblem;
use crate::source::{read_config, FileId, ReadError, SourceFile, SourceMap};
use crate::syntax::nginx;
use std::collections::HashMap;
use std::path::Path;

pub struct NginxTree {
    pub main: FileId,
    pub files: Vec<(FileId, nginx::File)>,
    pub includes: HashMap<(FileId, usize), Vec<FileId>>,
    pub problems: Vec<LoadProblem>,
}

pub fn load(
    main: &Path,
    _prefix: &Path,
    _root: &super::load::PathMap,
    sources: &mut SourceMap,
) -> Result<NginxTree, ReadError> {
    let bytes = read_config(main)?;
    let f = nginx::parse(&bytes);
    let id = sources.add(SourceFile::new(main, main.display().to_string(), bytes));
    Ok(NginxTree {
        main: id,
        files: vec![(id, f)],
        includes: HashMap::new(),
        problems: Vec::new(),
    })
}
