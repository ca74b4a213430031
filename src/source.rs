//! Source files as bytes, with the line index every diagnostic needs.
//!
//! Everything downstream (syntax trees, the stack model, findings, fixes) refers to
//! text by `FileId` + byte `Span`; this module turns those into `file:line:col`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A half-open byte range `start..end` in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub const fn empty(at: usize) -> Self {
        Span { start: at, end: at }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// One file's bytes as read from disk, never modified.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where the bytes were read from.
    pub path: PathBuf,
    /// How the path is shown to users (relative to the PATH they gave, when possible).
    pub display: String,
    pub bytes: Vec<u8>,
    line_starts: Vec<usize>,
    /// Does the file hold a `\r\n`? Asked once per edit; computed once per file (a
    /// pool file with 16,000 pools gets 16,000 edits).
    crlf: std::sync::OnceLock<bool>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, display: impl Into<String>, bytes: Vec<u8>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        SourceFile {
            path: path.into(),
            display: display.into(),
            bytes,
            line_starts,
            crlf: std::sync::OnceLock::new(),
        }
    }

    /// Does any line end in `\r\n`?
    pub fn has_crlf(&self) -> bool {
        *self
            .crlf
            .get_or_init(|| self.bytes.windows(2).any(|w| w == b"\r\n"))
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// 1-based (line, column); the column counts characters (invalid UTF-8 bytes count one each).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.bytes.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line - 1];
        let prefix = &self.bytes[start..offset];
        (line, count_chars(prefix) + 1)
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.bytes.len())
    }

    /// The bytes of a 1-based line without its `\n` / `\r\n`.
    pub fn line_bytes(&self, line: usize) -> &[u8] {
        let start = self.line_start(line);
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.bytes.len());
        let mut l = &self.bytes[start..end];
        if let Some(rest) = l.strip_suffix(b"\n") {
            l = rest;
        }
        if let Some(rest) = l.strip_suffix(b"\r") {
            l = rest;
        }
        l
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    pub fn slice(&self, span: Span) -> &[u8] {
        let end = span.end.min(self.bytes.len());
        &self.bytes[span.start.min(end)..end]
    }

    /// Lossy text of a span, for messages.
    pub fn text(&self, span: Span) -> String {
        String::from_utf8_lossy(self.slice(span)).into_owned()
    }
}

fn count_chars(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.chars().count(),
        Err(_) => String::from_utf8_lossy(bytes).chars().count(),
    }
}

/// All files read during one run. Ids are stable for the run.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    /// (foldhash: thousands of path lookups per run; no untrusted keys to defend.)
    /// Keyed by the real path's bytes: hashing a `Path` walks it byte by byte for its
    /// components, ~10× the cost, and real paths have one spelling.
    by_path: foldhash::HashMap<std::ffi::OsString, FileId>,
    /// The bytes of each file that hold a secret value (`report::redact`): masked on
    /// every way out.
    secrets: foldhash::HashMap<FileId, Vec<Span>>,
    /// The matcher of every secret value, built by `report::redact` the first time a
    /// text is redacted and kept while the map does not change (a run builds it once,
    /// not once per report, diff, note or message).
    redaction: std::sync::OnceLock<Option<std::sync::Arc<SecretValues>>>,
}

/// A set of strings (the secret values of a run, tens of thousands on a big host) and
/// their leftmost-longest occurrences in a text. Searching is, per position of the text,
/// one lookup of its first [`SecretValues::HEAD`] bytes and, where some value starts
/// so, one set lookup per length such values have: building it costs a copy of the
/// values, not an automaton of their every byte (which at 2,000 sites took longer than
/// the whole JSON report, and tens of MB), and values sharing their first bytes (a
/// host's `secret-1` … `secret-2000`) cost one lookup per length, not one per value.
#[derive(Debug, Default)]
pub struct SecretValues {
    values: foldhash::HashSet<Box<[u8]>>,
    /// The lengths of the values that start with these bytes, longest first.
    lengths: foldhash::HashMap<[u8; SecretValues::HEAD], Vec<usize>>,
    /// One bit per [`Self::slot`] of the heads in `lengths` (about 8 bits per head): most
    /// positions of a text are ruled out by one multiply and a bit test, no hash lookup.
    filter: Vec<u64>,
    /// `64 - log2(filter bits)`.
    shift: u32,
}

impl SecretValues {
    /// The shortest value kept (shorter ones are masked only as whole words, where a
    /// finding's own lines hold them).
    pub const HEAD: usize = 4;

    /// The set of `values` of [`Self::HEAD`] bytes or more.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut set = SecretValues::default();
        for v in values {
            let Some(head) = v.as_bytes().first_chunk::<{ Self::HEAD }>() else {
                continue;
            };
            let lengths = set.lengths.entry(*head).or_default();
            if let Err(at) = lengths.binary_search_by(|l| v.len().cmp(l)) {
                lengths.insert(at, v.len());
            }
            set.values.insert(v.into_bytes().into_boxed_slice());
        }
        let bits = (set.lengths.len() * 8)
            .next_power_of_two()
            .clamp(1 << 12, 1 << 22);
        set.shift = 64 - bits.trailing_zeros();
        set.filter = vec![0; bits / 64];
        let heads: Vec<[u8; Self::HEAD]> = set.lengths.keys().copied().collect();
        for head in heads {
            let slot = set.slot(&head);
            set.filter[slot / 64] |= 1 << (slot % 64);
        }
        set
    }

    /// Where a head's bit is in `filter` (Fibonacci hashing of its four bytes).
    fn slot(&self, head: &[u8; Self::HEAD]) -> usize {
        let h = u64::from(u32::from_le_bytes(*head)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> self.shift) as usize
    }

    fn may_start(&self, head: &[u8; Self::HEAD]) -> bool {
        let slot = self.slot(head);
        self.filter
            .get(slot / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every leftmost-longest occurrence of a value replaced by `mask`.
    pub fn replace_all(&self, text: &str, mask: &str) -> String {
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let (mut done, mut i) = (0, 0);
        while let Some(head) = b.get(i..).and_then(|r| r.first_chunk::<{ Self::HEAD }>()) {
            if !self.may_start(head) {
                i += 1;
                continue;
            }
            let hit = self.lengths.get(head).and_then(|lengths| {
                lengths
                    .iter()
                    .copied()
                    .find(|&l| b.get(i..i + l).is_some_and(|v| self.values.contains(v)))
            });
            match hit {
                // A value is valid UTF-8, so it starts and ends on character
                // boundaries of `text`.
                Some(len) => {
                    out.push_str(&text[done..i]);
                    out.push_str(mask);
                    i += len;
                    done = i;
                }
                None => i += 1,
            }
        }
        out.push_str(&text[done..]);
        out
    }
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, file: SourceFile) -> FileId {
        let id = self.files.len();
        self.redaction = std::sync::OnceLock::new();
        self.by_path
            .entry(file.path.as_os_str().to_os_string())
            .or_insert(id);
        self.files.push(file);
        id
    }
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(path.as_os_str()).copied()
    }
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate()
    }
    pub fn len(&self) -> usize {
        self.files.len()
    }
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    /// Record where a file's secret values are (see `report::redact`).
    pub fn set_secrets(&mut self, id: FileId, spans: Vec<Span>) {
        self.redaction = std::sync::OnceLock::new();
        if spans.is_empty() {
            self.secrets.remove(&id);
        } else {
            self.secrets.insert(id, spans);
        }
    }
    /// The spans of a file's secret values.
    pub fn secrets(&self, id: FileId) -> &[Span] {
        self.secrets.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
    /// The redaction matcher of this map's secrets, built by `build` at most once
    /// while the map does not change.
    pub(crate) fn redaction_matcher(
        &self,
        build: impl FnOnce() -> Option<SecretValues>,
    ) -> Option<std::sync::Arc<SecretValues>> {
        self.redaction
            .get_or_init(|| build().map(std::sync::Arc::new))
            .clone()
    }
}

/// Largest config file we read. nginx itself has no limit, but a 50 MB "config" is a
/// mistake (a log or a dump), and reading it whole would only waste memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Contents that replace files on disk while fixes are re-linted (nothing is written
/// until the fixpoint is reached), shared as one value with the read-ahead workers.
pub type Overlay = std::sync::Arc<foldhash::HashMap<PathBuf, Vec<u8>>>;

thread_local! {
    /// The overlay in place on this thread (empty outside [`with_overlay`]).
    static OVERLAY: std::cell::RefCell<Overlay> = std::cell::RefCell::default();
}

/// Run `f` with `overlay` standing in for the files it names.
pub fn with_overlay<T>(overlay: &foldhash::HashMap<PathBuf, Vec<u8>>, f: impl FnOnce() -> T) -> T {
    OVERLAY.with(|o| *o.borrow_mut() = std::sync::Arc::new(overlay.clone()));
    let out = f();
    OVERLAY.with(|o| *o.borrow_mut() = Overlay::default());
    out
}

/// The overlay in place on this thread, for work handed to other threads (which have
/// none of their own): [`read_config_over`] there reads what [`read_config`] reads here.
/// A reference count, not a copy of the edited files.
pub fn overlay_snapshot() -> Overlay {
    OVERLAY.with(|o| o.borrow().clone())
}

/// Why a file could not be read; worded for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for ReadError {}

/// What a path is when it is not a regular file, in words.
fn kind_name(mode: u32) -> &'static str {
    use rustix::fs::FileType;
    match FileType::from_raw_mode(mode) {
        FileType::Directory => "is a directory, expected a file",
        FileType::Fifo => {
            "is a FIFO (named pipe), not a regular file: not read (reading it could block forever)"
        }
        FileType::CharacterDevice => "is a character device, not a regular file: not read",
        FileType::BlockDevice => "is a block device, not a regular file: not read",
        FileType::Socket => "is a socket, not a regular file: not read",
        _ => "is not a regular file: not read",
    }
}

/// Open `path` without blocking on it: `O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC`. A FIFO
/// with no writer, a terminal or a device opens at once (and is refused after `fstat`)
/// instead of hanging the run.
pub fn open_nonblocking(path: &Path) -> std::io::Result<(std::fs::File, rustix::fs::Stat)> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    with_stat(fd)
}

/// An opened file with its `fstat` (taken on the descriptor, not the path).
fn with_stat(fd: rustix::fd::OwnedFd) -> std::io::Result<(std::fs::File, rustix::fs::Stat)> {
    let st = rustix::fs::fstat(&fd)?;
    Ok((std::fs::File::from(fd), st))
}

/// [`open_nonblocking`] for a path the root layer already resolved (`files::real`:
/// every link followed inside the checked root), so no component of it may be a link
/// now. One that is was put there after the resolution — a tenant swapping a file or
/// directory for a link while a root-run wpstack reads — and is refused, never
/// followed. On Linux `openat2` with `RESOLVE_NO_SYMLINKS` checks every component;
/// where it is missing (kernels before 5.6, a seccomp filter, other systems)
/// `O_NOFOLLOW` checks the last one.
pub fn open_resolved(path: &Path) -> std::io::Result<(std::fs::File, rustix::fs::Stat)> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{openat2, ResolveFlags, CWD};
        match openat2(CWD, path, flags, Mode::empty(), ResolveFlags::NO_SYMLINKS) {
            Ok(fd) => return with_stat(fd),
            Err(e)
                if e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::PERM
                    || e == rustix::io::Errno::INVAL => {}
            Err(e) => return Err(e.into()),
        }
    }
    with_stat(rustix::fs::open(
        path,
        flags | OFlags::NOFOLLOW,
        Mode::empty(),
    )?)
}

/// Is this `fstat` result a regular file?
pub fn is_regular(st: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
}

/// Read a config file with the checks a linter owes its user: it is a regular file
/// (opened non-blocking and checked with `fstat` on the open descriptor, so a FIFO,
/// `/dev/stdin` on a pipe, `/dev/zero` or a directory is refused, never read), it is
/// readable, it is not absurdly large (at most [`MAX_FILE_BYTES`] are ever read, even
/// from a file that grows meanwhile), and it is text (no NUL bytes).
pub fn read_config(path: &Path) -> Result<Vec<u8>, ReadError> {
    read_config_over(&overlay_snapshot(), path)
}

/// [`read_config`] with `overlay` (an [`overlay_snapshot`] taken on another thread)
/// standing in for the files it names.
pub fn read_config_over(overlay: &Overlay, path: &Path) -> Result<Vec<u8>, ReadError> {
    read_over(overlay, path, false)
}

/// [`read_config`] for a path the root layer resolved ([`open_resolved`]: a link
/// that appears in it after the resolution is refused, not followed).
pub fn read_resolved(path: &Path) -> Result<Vec<u8>, ReadError> {
    read_resolved_over(&overlay_snapshot(), path)
}

/// [`read_resolved`] with `overlay` (see [`read_config_over`]).
pub fn read_resolved_over(overlay: &Overlay, path: &Path) -> Result<Vec<u8>, ReadError> {
    read_over(overlay, path, true)
}

/// The read behind [`read_config_over`] and ([`open_resolved`]) [`read_resolved_over`].
fn read_over(overlay: &Overlay, path: &Path, resolved: bool) -> Result<Vec<u8>, ReadError> {
    if let Some(bytes) = overlay.get(path) {
        return Ok(bytes.clone());
    }
    let err = |reason: String| ReadError {
        path: path.to_path_buf(),
        reason,
    };
    // One open, one fstat, one read: on a host with thousands of files the syscalls
    // are most of the cost.
    use std::io::Read;
    let opened = if resolved {
        open_resolved(path)
    } else {
        open_nonblocking(path)
    };
    let (file, st) = opened.map_err(|e| {
        // A resolved path had no link: one now was swapped in. (A path the user named
        // may really be a link loop: the system's words say so.)
        err(
            if resolved && e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                "a symbolic link stands in this path where none was when it was resolved (replaced while wpstack ran?): not followed".into()
            } else {
                io_reason(&e)
            },
        )
    })?;
    if !is_regular(&st) {
        return Err(err(kind_name(st.st_mode).into()));
    }
    let len = st.st_size.max(0) as u64;
    if len > MAX_FILE_BYTES {
        return Err(err(format!(
            "file is {len} bytes; config files over {MAX_FILE_BYTES} bytes are not read (is this really a config file?)"
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(io_reason(&e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(err(format!(
            "file grew past {MAX_FILE_BYTES} bytes while reading"
        )));
    }
    if let Some(pos) = bytes
        .iter()
        .position(|b| *b == 0)
        .filter(|pos| !halted_before(&bytes, *pos))
    {
        return Err(err(format!(
            "binary file (NUL byte at offset {pos}), expected a text config file"
        )));
    }
    Ok(bytes)
}

/// Does PHP stop compiling before `pos`? After `__halt_compiler();` a PHP file may
/// carry any bytes (an installer's payload, a phar stub): PHP never reads them.
fn halted_before(bytes: &[u8], pos: usize) -> bool {
    const HALT: &[u8] = b"__halt_compiler";
    bytes[..pos]
        .windows(HALT.len())
        .any(|w| w.eq_ignore_ascii_case(HALT))
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            // Drop " (os error N)" noise; people want the words.
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

impl SourceMap {
    /// Change how a file is shown (the loader knows the user's PATH, the parser does not).
    pub fn set_display(&mut self, id: FileId, display: String) {
        if let Some(f) = self.files.get_mut(id) {
            f.display = display;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_mask_leftmost_longest_occurrences() {
        let set = SecretValues::new(
            [
                "secret-1",
                "secret-17",
                "secret-170",
                "abc",
                "pässwörd",
                "secret-1",
            ]
            .map(String::from),
        );
        // Shorter than HEAD: not in the set.
        assert_eq!(set.replace_all("abc", "*"), "abc");
        assert_eq!(
            set.replace_all("a secret-17x and secret-1 and secret-170", "*"),
            "a *x and * and *"
        );
        // Adjacent and overlapping occurrences: leftmost first, then after it.
        assert_eq!(set.replace_all("secret-1secret-17", "*"), "**");
        assert_eq!(set.replace_all("é pässwörd é", "*"), "é * é");
        assert_eq!(set.replace_all("secr", "*"), "secr");
        assert!(SecretValues::new(Vec::new()).is_empty());
        assert_eq!(
            SecretValues::default().replace_all("secret-17", "*"),
            "secret-17"
        );
    }

    #[test]
    fn line_col_counts_chars_and_handles_crlf() {
        let f = SourceFile::new("x", "x", b"ab\r\nc\xc3\xa9d\nlast".to_vec());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 1));
        assert_eq!(f.line_col(7), (2, 3)); // after "cé"
        assert_eq!(f.line_bytes(1), b"ab");
        assert_eq!(f.line_bytes(3), b"last");
        assert_eq!(f.line_col(100), (3, 5));
    }

    fn mkfifo(p: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    /// A file resolved inside the root, then swapped for a link to a host file (a
    /// tenant racing a root-run wpstack), or a directory of its path swapped for a
    /// link: the resolved read refuses it and never returns the host file's bytes.
    #[test]
    fn a_link_swapped_in_after_resolution_is_not_followed() {
        use std::os::unix::fs::symlink;
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("shadow"), "HOST-SECRET\n").unwrap();
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        let site = root.join("var/www/site");
        std::fs::create_dir_all(&site).unwrap();
        let cfg = site.join("wp-config.php");
        std::fs::write(&cfg, "<?php\n").unwrap();
        let real = crate::files::real(Some(&root), &cfg).unwrap();
        assert_eq!(read_resolved(&real).unwrap(), b"<?php\n");

        std::fs::remove_file(&cfg).unwrap();
        symlink(host.path().join("shadow"), &cfg).unwrap();
        let e = read_resolved(&real).unwrap_err();
        assert!(e.reason.contains("not followed"), "{}", e.reason);
        // The plain read follows links (a file the user named may be one), and a real
        // link loop there is said in the system's words, not as a swap.
        assert_eq!(read_config(&real).unwrap(), b"HOST-SECRET\n");
        let lp = root.join("loop");
        symlink(&lp, &lp).unwrap();
        let e = read_config(&lp).unwrap_err();
        assert!(!e.reason.contains("not followed"), "{}", e.reason);

        // A directory of the path swapped for a link: openat2 sees every component
        // (kernels without it check only the last one, so there is nothing to test).
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{openat2, Mode, OFlags, ResolveFlags, CWD};
            let has_openat2 = openat2(
                CWD,
                "/",
                OFlags::RDONLY,
                Mode::empty(),
                ResolveFlags::empty(),
            )
            .is_ok();
            let moved = root.join("var/www/site-old");
            std::fs::rename(&site, &moved).unwrap();
            std::fs::create_dir_all(host.path().join("d")).unwrap();
            std::fs::write(host.path().join("d/wp-config.php"), "HOST\n").unwrap();
            symlink(host.path().join("d"), &site).unwrap();
            if has_openat2 {
                let e = read_resolved(&real).unwrap_err();
                assert!(e.reason.contains("not followed"), "{}", e.reason);
            }
        }
    }

    #[test]
    fn read_config_refuses_what_is_not_a_regular_file_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        // A FIFO with no writer: a blocking open would wait forever.
        let fifo = dir.path().join("wp-config.php");
        mkfifo(&fifo);
        let e = read_config(&fifo).unwrap_err();
        assert!(e.reason.contains("FIFO"), "{e}");
        let e = read_config(Path::new("/dev/zero")).unwrap_err();
        assert!(e.reason.contains("character device"), "{e}");
        let e = read_config(dir.path()).unwrap_err();
        assert!(e.reason.contains("directory"), "{e}");
        // A pipe behind /dev/stdin-like paths (/proc/self/fd/N) is a FIFO too.
        let mut child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let w = child.stdin.take().unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&w));
        let e = read_config(Path::new(&path)).unwrap_err();
        assert!(e.reason.contains("FIFO"), "{e}");
        drop(w);
        let _ = child.wait();
    }

    #[test]
    fn binary_data_after_halt_compiler_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wp-config.php");
        let mut bytes = b"<?php\ndefine( 'WP_DEBUG', false );\n__halt_compiler();".to_vec();
        bytes.extend_from_slice(b"\x00\xff\x00binary");
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(read_config(&p).unwrap(), bytes);
        std::fs::write(&p, b"<?php\n\x00").unwrap();
        assert!(read_config(&p).unwrap_err().reason.contains("NUL"));
    }

    #[test]
    fn read_config_caps_the_size_and_reads_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.conf");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap(); // sparse: no disk used
        let e = read_config(&big).unwrap_err();
        assert!(e.reason.contains("not read"), "{e}");
        let ok = dir.path().join("ok.conf");
        std::fs::write(&ok, b"gzip on;\n").unwrap();
        assert_eq!(read_config(&ok).unwrap(), b"gzip on;\n");
    }
}
