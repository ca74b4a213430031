//! Loading an nginx configuration: the main file and everything it includes, read and
//! parsed once each, with where each `include` leads (in nginx's order), missing
//! includes (E005), cycles and unreadable files.

use super::load::{LoadProblem, PathMap, ProblemKind};
use crate::finding::Place;
use crate::source::{FileId, ReadError, SourceFile, SourceMap};
use crate::syntax::nginx::{self, Item};
use crate::syntax::MAX_DEPTH;
use foldhash::HashMap;
use std::path::{Path, PathBuf};

pub struct NginxTree {
    pub main: FileId,
    pub files: Vec<(FileId, nginx::File)>,
    /// (file, span.start of an `include` directive) → the files it includes, in order.
    pub includes: HashMap<(FileId, usize), Vec<FileId>>,
    pub problems: Vec<LoadProblem>,
    /// What the loader assumed or could not know, for the user (`sites-available/` read
    /// for a missing `sites-enabled/`, a link leading out of a copied tree).
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

struct Loader<'a> {
    prefix: PathBuf,
    map: &'a PathMap,
    sources: &'a mut SourceMap,
    tree: NginxTree,
    /// Files being expanded, for cycle detection.
    active: Vec<FileId>,
    /// A copy or repo, not the live configuration: an include of `sites-enabled/…`
    /// whose directory is not in the tree reads `sites-available/` instead.
    copy: bool,
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
    load_tree(main, prefix, map, sources, false)
}

/// `load`, for a copy of a configuration or a config repo (`copy`): a config repo keeps
/// its sites in `sites-available/` and no `sites-enabled/` (the symlinks are made on
/// the host), so an include of `sites-enabled/*` whose directory is absent from the
/// tree reads `sites-available/` the same way, and says so in `notes`.
pub fn load_tree(
    main: &Path,
    prefix: &Path,
    map: &PathMap,
    sources: &mut SourceMap,
    copy: bool,
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
            includes: HashMap::default(),
            problems: Vec::new(),
            notes: Vec::new(),
            pos: HashMap::default(),
        },
        active: vec![id],
        copy,
    };
    let includes = collect_includes(&parsed.items, 0);
    l.tree.push(id, parsed);
    l.expand(id, includes, 1);
    Ok(l.tree)
}

/// nginx's own files, installed with the package and rarely kept in a config repo:
/// a site fragment linted without its nginx.conf may include them.
pub const STOCK_FILES: &[&str] = &[
    "fastcgi_params",
    "fastcgi.conf",
    "mime.types",
    "scgi_params",
    "uwsgi_params",
    "proxy_params",
    "koi-utf",
    "koi-win",
    "win-utf",
    "snippets/fastcgi-php.conf",
    "snippets/snakeoil.conf",
];

/// Load site files that have no nginx.conf (a config repo's `sites-available/`, a
/// control panel's per-domain file, one site file given alone) as fragments of one
/// implied `http {}`: each is read and its includes resolved against `prefix` (the
/// parent of `sites-*/` and `conf.d/`) as nginx would once its nginx.conf includes
/// them. The first readable fragment is the tree's `main`. A missing include of one
/// of nginx's stock files is not a problem here (the package installs them); the
/// names are returned. Err when no fragment can be read (the first error).
pub fn load_fragments(
    paths: &[PathBuf],
    prefix: &Path,
    map: &PathMap,
    sources: &mut SourceMap,
) -> Result<(NginxTree, Vec<FileId>, Vec<String>), ReadError> {
    let mut read: Vec<(FileId, nginx::File)> = Vec::new();
    let mut read_ids: foldhash::HashSet<FileId> = Default::default();
    let mut first_err = None;
    let mut unreadable = Vec::new();
    for path in paths {
        let (path, bytes) = match crate::files::read(map.root.as_deref(), path) {
            Ok(b) => b,
            Err(e) => {
                unreadable.push(e.clone());
                first_err.get_or_insert(e);
                continue;
            }
        };
        let parsed = nginx::parse(&bytes);
        let id = match sources.find(&path) {
            Some(id) => id,
            None => sources.add(SourceFile::new(&path, path.display().to_string(), bytes)),
        };
        if read_ids.insert(id) {
            read.push((id, parsed));
        }
    }
    let Some(main) = read.first().map(|(id, _)| *id) else {
        return Err(first_err.unwrap_or_else(|| ReadError {
            path: prefix.to_path_buf(),
            reason: "no site file".into(),
        }));
    };
    let mut ids: Vec<FileId> = Vec::new();
    let mut l = Loader {
        prefix: prefix.to_path_buf(),
        map,
        sources,
        tree: NginxTree {
            main,
            files: Vec::new(),
            includes: HashMap::default(),
            problems: Vec::new(),
            notes: Vec::new(),
            pos: HashMap::default(),
        },
        active: Vec::new(),
        copy: true,
    };
    for (id, parsed) in read {
        if l.tree.file(id).is_some() {
            continue; // already included by an earlier fragment
        }
        ids.push(id);
        let includes = collect_includes(&parsed.items, 0);
        l.tree.push(id, parsed);
        l.active = vec![id];
        l.expand(id, includes, 1);
    }
    let stock = take_missing_stock(&mut l.tree.problems);
    for e in &unreadable {
        let p = super::load::unreadable_problem(l.sources, e, None);
        l.tree.problems.push(p);
    }
    Ok((l.tree, ids, stock))
}

/// Suffixes of templates rendered into configuration at deploy time (Ansible's `.j2`,
/// envsubst's `.template`, WordOps' `.mustache`…): such a file is not configuration
/// itself, and a missing include that has one next to it is generated from it.
pub const TEMPLATE_SUFFIXES: &[&str] = &[
    ".template",
    ".tmpl",
    ".tpl",
    ".j2",
    ".jinja",
    ".jinja2",
    ".mustache",
    ".erb",
    ".sample",
    ".example",
    ".dist",
    ".in",
];

/// The files an include glob matched, read and parsed on the run's threads
/// (`--threads`, else RAYON_NUM_THREADS, else every core), by real path. The loader
/// still takes them one by one in its own order — ids, includes and messages are those
/// of a sequential load; a file not here (unreadable, already read) it reads itself.
/// While fixes are re-linted, the workers read the loader thread's edited contents.
fn read_ahead(
    root: Option<&Path>,
    paths: &[PathBuf],
    sources: &SourceMap,
) -> foldhash::HashMap<std::ffi::OsString, (Vec<u8>, nginx::File)> {
    use rayon::prelude::*;
    if paths.len() < 2 || rayon::current_num_threads() < 2 {
        return Default::default();
    }
    let overlay = crate::source::overlay_snapshot();
    let todo: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| crate::files::real(root, p).ok())
        .filter(|r| sources.find(r).is_none())
        .collect();
    todo.into_par_iter()
        .filter_map(|real| {
            let bytes = crate::source::read_resolved_over(&overlay, &real).ok()?;
            let parsed = nginx::parse(&bytes);
            Some((real.into_os_string(), (bytes, parsed)))
        })
        .collect()
}

/// Is this file name a template (see `TEMPLATE_SUFFIXES`)?
pub fn is_template_name(name: &str) -> bool {
    TEMPLATE_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// The template a missing file is rendered from, when one lies next to it (looked up
/// inside the checked root, like every file).
fn template_of(root: Option<&Path>, path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    TEMPLATE_SUFFIXES
        .iter()
        .map(|s| path.with_file_name(format!("{name}{s}")))
        .find(|t| crate::files::resolve::is_file(root, t))
}

/// Remove the "include not found" problems of nginx's stock files (fastcgi_params,
/// mime.types…) and return their names: for a copy of a configuration or a config
/// repo, the package installs them on the host.
pub fn take_missing_stock(problems: &mut Vec<LoadProblem>) -> Vec<String> {
    let mut stock: Vec<String> = Vec::new();
    problems.retain(|p| {
        if p.kind != ProblemKind::IncludeNotFound {
            return true;
        }
        match STOCK_FILES
            .iter()
            .find(|s| p.message.contains(&format!("/{s}\" failed")))
        {
            Some(s) => {
                if !stock.iter().any(|x| x == s) {
                    stock.push(s.to_string());
                }
                false
            }
            None => true,
        }
    });
    stock
}

impl Loader<'_> {
    /// In a copy or repo, a file whose whole content is one path to an existing file is
    /// a symbolic link that was checked out as a file (git with `core.symlinks=false`,
    /// an archive that flattened links): `sites-enabled/x` holding
    /// `/etc/nginx/sites-available/x`. nginx could never parse it as configuration, so
    /// it is read as the link it stands for; the target resolves like any path here.
    fn link_stub(&self, path: &Path, bytes: &[u8]) -> Option<PathBuf> {
        if !self.copy || bytes.len() > 4096 {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.is_empty()
            || !text.contains('/')
            || text
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, ';' | '{' | '}' | '#' | '$'))
        {
            return None;
        }
        let base = path.parent()?;
        let target = self.map.resolve(text, base);
        (target != path && crate::files::resolve::is_file(self.map.root.as_deref(), &target))
            .then_some(target)
    }
}

/// For a glob under a `sites-enabled/` directory that does not exist, the same glob
/// under its sibling `sites-available/` when that one does.
fn available_for_enabled(map: &PathMap, glob: &Path) -> Option<PathBuf> {
    let dir = glob.parent()?;
    if dir.file_name()? != "sites-enabled" || map.exists(dir) {
        return None;
    }
    let avail = dir.parent()?.join("sites-available");
    let name = glob.file_name()?;
    crate::files::resolve::is_dir(map.root.as_deref(), &avail).then(|| avail.join(name))
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
    /// A file an include names that cannot be read, reported at the include.
    fn unreadable(&mut self, place: Place, e: &ReadError) {
        self.tree.problems.push(LoadProblem {
            kind: ProblemKind::Unreadable,
            place: Some(place),
            message: e.to_string(),
        });
    }

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
            let mut paths: Vec<PathBuf> = if is_glob {
                self.map.glob(&local)
            } else {
                vec![local.clone()]
            };
            if is_glob && paths.is_empty() && self.copy {
                if let Some(avail) = available_for_enabled(self.map, &local) {
                    paths = self.map.glob(&avail);
                    if !paths.is_empty() {
                        self.tree.notes.push(format!(
                            "{} is not in the tree: the {} file(s) matching {} were read in its place, as the host would enable them",
                            local.parent().unwrap_or(&local).display(),
                            paths.len(),
                            avail.display()
                        ));
                    }
                }
            }
            let mut ids = Vec::new();
            if self.copy {
                // A stand-in sites-available/ may hold templates: they are no config.
                paths.retain(|p| {
                    !p.file_name()
                        .is_some_and(|n| is_template_name(&n.to_string_lossy()))
                        || !is_glob
                });
            }
            let mut ahead = read_ahead(self.map.root.as_deref(), &paths, self.sources);
            for path in paths {
                // Resolved once, inside the root: whether it is there, and the real file
                // it is (one file reached through two links is one file). A dangling
                // link exists as a name: it is reported below, where it is read.
                let root = self.map.root.as_deref();
                let real = crate::files::real(root, &path);
                let present = real.is_ok() || std::fs::symlink_metadata(&path).is_ok();
                if !is_glob && !present && self.copy {
                    if let Some(t) = template_of(root, &path) {
                        self.tree.notes.push(format!(
                            "{} is not in the tree but {} is: it is rendered at deploy time, so its settings were not read",
                            path.display(),
                            t.display()
                        ));
                        continue;
                    }
                }
                if !is_glob && !present {
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
                let path = match real {
                    Ok(real) => real,
                    Err(e) => {
                        match crate::files::left_copy(root, &path) {
                            Some(note) => crate::files::note_once(&mut self.tree.notes, note),
                            None => self.unreadable(place, &e),
                        }
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
                let (mut bytes, mut parsed) = match ahead.remove(path.as_os_str()) {
                    Some((b, f)) => (b, Some(f)),
                    None => match crate::source::read_resolved(&path) {
                        Ok(b) => (b, None),
                        Err(e) => {
                            self.unreadable(place, &e);
                            continue;
                        }
                    },
                };
                let mut path = path;
                if let Some(target) = self.link_stub(&path, &bytes) {
                    if let Some(id) = self.sources.find(&target) {
                        if self.active.contains(&id) {
                            continue;
                        }
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                        if self.tree.file(id).is_some() {
                            continue;
                        }
                    }
                    if let Ok((target, b)) = crate::files::read(self.map.root.as_deref(), &target) {
                        self.tree.notes.push(format!(
                            "{} holds only the path {} (a symbolic link checked out as a file, as git does with core.symlinks=false): read as a link to it",
                            path.display(),
                            String::from_utf8_lossy(&bytes).trim()
                        ));
                        bytes = b;
                        path = target;
                        parsed = None;
                    }
                }
                let parsed = parsed.unwrap_or_else(|| nginx::parse(&bytes));
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
