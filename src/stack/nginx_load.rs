//! Loading an nginx configuration: the main file and everything it includes, read and
//! parsed once each, with where each `include` leads (in nginx's order), missing
//! includes (E005), cycles and unreadable files.

use super::load::{LoadProblem, PathMap, ProblemKind};
use crate::finding::Place;
use crate::source::{read_config, FileId, ReadError, SourceFile, SourceMap};
use crate::syntax::nginx::{self, Item};
use crate::syntax::MAX_DEPTH;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct NginxTree {
    pub main: FileId,
    pub files: Vec<(FileId, nginx::File)>,
    /// (file, span.start of an `include` directive) → the files it includes, in order.
    pub includes: HashMap<(FileId, usize), Vec<FileId>>,
    pub problems: Vec<LoadProblem>,
    /// Things that could not be known (a link leading out of a copied tree).
    pub notes: Vec<String>,
    /// Position in `files` of each file id.
    pos: HashMap<FileId, usize>,
}

impl NginxTree {
    pub fn file(&self, id: FileId) -> Option<&nginx::File> {
        self.pos
            .get(&id)
            .and_then(|i| self.files.get(*i))
            .map(|(_, f)| f)
    }
    /// The files an `include` directive of `file` brings in, in nginx's order.
    pub fn included_by(&self, file: FileId, d: &nginx::Directive) -> &[FileId] {
        self.includes
            .get(&(file, d.span.start))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
    fn push(&mut self, id: FileId, f: nginx::File) {
        self.pos.insert(id, self.files.len());
        self.files.push((id, f));
    }
}

/// Files nginx's packages ship unchanged that hold nothing a rule reads.
const STOCK_FILES: &[&str] = &[
    "mime.types",
    "koi-utf",
    "koi-win",
    "win-utf",
    "scgi_params",
    "uwsgi_params",
];

struct Loader<'a> {
    prefix: PathBuf,
    map: &'a PathMap,
    sources: &'a mut SourceMap,
    tree: NginxTree,
    /// Files being expanded, for cycle detection.
    active: Vec<FileId>,
}

/// Load `main` and its includes. Relative include paths are relative to `prefix`
/// (nginx's conf prefix: the directory of the main file); absolute ones go through
/// `map` (`--root`, copied-tree aliases). Err only when `main` itself cannot be read.
pub fn load(
    main: &Path,
    prefix: &Path,
    map: &PathMap,
    sources: &mut SourceMap,
) -> Result<NginxTree, ReadError> {
    let (real, bytes) = crate::files::read(map.root.as_deref(), main)?;
    let parsed = nginx::parse(&bytes);
    let id = match sources.find(&real) {
        Some(id) => id,
        None => sources.add(SourceFile::new(&real, real.display().to_string(), bytes)),
    };
    let mut l = Loader {
        prefix: prefix.to_path_buf(),
        map,
        sources,
        tree: NginxTree {
            main: id,
            files: Vec::new(),
            includes: HashMap::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            pos: HashMap::new(),
        },
        active: vec![id],
    };
    let includes = collect_includes(&parsed.items, 0);
    l.tree.push(id, parsed);
    l.expand(id, includes, 1);
    Ok(l.tree)
}

/// `include` directives anywhere in a file (span start, argument).
fn collect_includes(items: &[Item], depth: usize) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    if depth > MAX_DEPTH {
        return out;
    }
    for d in nginx::directives(items) {
        if d.name_is("include") {
            if let Some(a) = d.arg(0) {
                out.push((d.span.start, d.span.end, a.text()));
            }
        }
        if let Some(b) = d.block() {
            out.extend(collect_includes(&b.items, depth + 1));
        }
    }
    out
}

impl Loader<'_> {
    fn expand(&mut self, file: FileId, includes: Vec<(usize, usize, String)>, depth: usize) {
        for (start, end, pattern) in includes {
            let place = Place::new(file, crate::source::Span::new(start, end));
            if depth > MAX_DEPTH {
                self.tree.problems.push(LoadProblem {
                    kind: ProblemKind::TooDeep,
                    place: Some(place),
                    message: format!("includes nested deeper than {MAX_DEPTH} levels"),
                });
                continue;
            }
            let local = self.map.resolve(&pattern, &self.prefix);
            let is_glob = pattern.contains(['*', '?', '[']);
            let paths: Vec<PathBuf> = if is_glob {
                self.map.glob(&local)
            } else {
                vec![local.clone()]
            };
            let mut ids = Vec::new();
            for path in paths {
                let dangling_link = std::fs::symlink_metadata(&path).is_ok();
                if !is_glob && !self.map.exists(&path) && !dangling_link {
                    // A copy often leaves out the files nginx's package ships unchanged
                    // (the bitnami image's mime.types): on the real host they are
                    // there, and no rule reads them.
                    let copy = self.map.root.is_some() || !self.map.aliases.is_empty();
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if copy && STOCK_FILES.contains(&name) {
                        let logical = match &self.map.root {
                            Some(r) => path
                                .strip_prefix(r)
                                .map(|p| Path::new("/").join(p))
                                .unwrap_or_else(|_| path.clone()),
                            None => path.clone(),
                        };
                        let note = format!(
                            "{} is not in the copy: taken to be nginx's stock {name}, which no rule reads",
                            logical.display()
                        );
                        if !self.tree.notes.contains(&note) {
                            self.tree.notes.push(note);
                        }
                        continue;
                    }
                    let shown = if Path::new(&pattern).is_absolute() {
                        pattern.clone()
                    } else {
                        self.prefix.join(&pattern).display().to_string()
                    };
                    self.tree.problems.push(LoadProblem {
                        kind: ProblemKind::IncludeNotFound,
                        place: Some(place),
                        message: format!(
                            "open() \"{shown}\" failed (2: No such file or directory){}",
                            if shown != local.display().to_string() {
                                format!(" (looked for {})", local.display())
                            } else {
                                String::new()
                            }
                        ),
                    });
                    continue;
                }
                // One file reached through two links is one file: key by the real path.
                let root = self.map.root.as_deref();
                let path = match crate::files::real(root, &path) {
                    Ok(real) => real,
                    Err(_) if crate::files::leaves_copy(root, &path) => {
                        let note =
                            crate::files::leaves_copy_note(&path, root.unwrap_or(Path::new("/")));
                        if !self.tree.notes.contains(&note) {
                            self.tree.notes.push(note);
                        }
                        continue;
                    }
                    Err(e) => {
                        self.tree.problems.push(LoadProblem {
                            kind: ProblemKind::Unreadable,
                            place: Some(place),
                            message: e.to_string(),
                        });
                        continue;
                    }
                };
                if let Some(id) = self.sources.find(&path) {
                    if self.active.contains(&id) {
                        self.tree.problems.push(LoadProblem {
                            kind: ProblemKind::IncludeCycle,
                            place: Some(place),
                            message: format!(
                                "include cycle: {} includes itself (through this include); nginx would recurse until it fails",
                                path.display()
                            ),
                        });
                        continue;
                    }
                    // Already read for another include: nginx reads it again in place.
                    ids.push(id);
                    if self.tree.file(id).is_some() {
                        continue;
                    }
                }
                let bytes = match read_config(&path) {
                    Ok(b) => b,
                    Err(e) => {
                        self.tree.problems.push(LoadProblem {
                            kind: ProblemKind::Unreadable,
                            place: Some(place),
                            message: e.to_string(),
                        });
                        continue;
                    }
                };
                let parsed = nginx::parse(&bytes);
                let id = match self.sources.find(&path) {
                    Some(id) => id,
                    None => {
                        self.sources
                            .add(SourceFile::new(&path, path.display().to_string(), bytes))
                    }
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
                let inner = collect_includes(&parsed.items, 0);
                self.tree.push(id, parsed);
                self.active.push(id);
                self.expand(id, inner, depth + 1);
                self.active.pop();
            }
            self.tree.includes.insert((file, start), ids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        d
    }

    fn load_dir(d: &Path, map: &PathMap) -> (NginxTree, SourceMap) {
        let mut sm = SourceMap::new();
        let t = load(&d.join("nginx.conf"), d, map, &mut sm).unwrap();
        (t, sm)
    }

    #[test]
    fn relative_glob_sorted_and_empty_glob() {
        let d = tree(&[
            (
                "nginx.conf",
                "http { include conf.d/*.conf; include none/*.conf; }\n",
            ),
            ("conf.d/b.conf", "b 1;\n"),
            ("conf.d/a.conf", "a 1;\n"),
            ("conf.d/B.conf", "B 1;\n"),
        ]);
        let (t, sm) = load_dir(d.path(), &PathMap::default());
        assert!(t.problems.is_empty());
        let inc = &t.includes[&(t.main, 7)];
        let names: Vec<_> = inc
            .iter()
            .map(|i| {
                sm.get(*i)
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["B.conf", "a.conf", "b.conf"]);
    }

    #[test]
    fn absolute_inside_root_missing_and_cycle() {
        let d = tree(&[
            (
                "etc/nginx/nginx.conf",
                "include /etc/nginx/x.conf;\ninclude missing.conf;\ninclude /etc/nginx/a.conf;\n",
            ),
            ("etc/nginx/x.conf", "x 1;\n"),
            ("etc/nginx/a.conf", "include /etc/nginx/b.conf;\n"),
            ("etc/nginx/b.conf", "include /etc/nginx/a.conf;\n"),
        ]);
        let map = PathMap {
            root: Some(d.path().to_path_buf()),
            aliases: Vec::new(),
        };
        let mut sm = SourceMap::new();
        let dir = d.path().join("etc/nginx");
        let t = load(&dir.join("nginx.conf"), &dir, &map, &mut sm).unwrap();
        let kinds: Vec<_> = t.problems.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [ProblemKind::IncludeNotFound, ProblemKind::IncludeCycle]
        );
        assert!(t.problems[0]
            .message
            .contains("missing.conf\" failed (2: No such file or directory)"));
        assert_eq!(t.files.len(), 4);
    }

    #[test]
    fn repeated_include_read_once() {
        let d = tree(&[
            (
                "nginx.conf",
                "http { server { location / { include p; } location /x { include p; } } }\n",
            ),
            ("p", "fastcgi_param A b;\n"),
        ]);
        let (t, _) = load_dir(d.path(), &PathMap::default());
        assert_eq!(t.files.len(), 2);
        assert_eq!(t.includes.len(), 2);
        assert!(t.includes.values().all(|v| v.len() == 1));
    }
}
