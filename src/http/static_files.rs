//! Static files: [`StaticFiles`] serves one directory, safely.
//!
//! Two pure cores, table-tested, and a thin shell that touches the disk:
//!
//! - [`safe_segments`]: the request path below the prefix, as sent, into
//!   file-name segments, or a refusal. Each segment is percent-decoded
//!   **once**, and refused if it is empty, `.` or `..`, or holds `/`, `\` or
//!   NUL after decoding. So `..`, `%2e%2e`, `%2f`, backslashes, NUL and
//!   absolute paths (`//etc/passwd`) never name a path outside the root,
//!   and a double-encoded `%252e%252e` is the literal name `%2e%2e`.
//! - [`plan`]: the conditional and range headers against a file's validators
//!   and length: 304, 200, 206 with one range, or 416.
//!
//! The shell joins the segments to the root, then resolves symlinks
//! (`canonicalize`) and serves the file only if the result is still inside
//! the root's canonical path: a symlink that leads out is a 404. The body is
//! streamed in 64 KiB chunks by a task on the worker's loop (the channel
//! holds one chunk, so a large file never sits whole in memory); the reads
//! themselves are plain blocking `read`s of a local file, which on Linux are
//! served from the page cache and rarely wait.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use percent_encoding::percent_decode_str;

use super::headers::Headers;
use super::method::Method;
use super::mime::content_type;
use super::request::Request;
use super::response::{Body, IntoResponse, Response};
use super::status::StatusCode;
use super::stream::sized_channel;
use super::HttpError;

/// Bytes per chunk of a streamed file.
const CHUNK: usize = 64 * 1024;

/// Serves the files of one directory (see the module doc for the rules).
///
/// Register it on an app with `App::static_files`; it can also answer
/// requests in a handler of your own through [`serve`](Self::serve).
///
/// # Examples
///
/// ```
/// use sanio::http::StaticFiles;
///
/// let dir = std::env::temp_dir().join("sanio-doc-static");
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("hello.txt"), "hi")?;
/// let files = StaticFiles::new(&dir)?.index_file(None);
/// let request = sanio::Request::new(sanio::Method::Head, "/static/hello.txt");
/// let response = files.serve(&request, "hello.txt");
/// assert_eq!(response.status().as_u16(), 200);
/// assert_eq!(response.headers().get("content-type"), Some("text/plain; charset=utf-8"));
/// let escape = files.serve(&request, "..%2f..%2fetc%2fpasswd");
/// assert_eq!(escape.status().as_u16(), 404);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StaticFiles {
    /// The directory, canonical (symlinks resolved).
    root: PathBuf,
    /// The file served for a directory, if any.
    index: Option<String>,
}

impl StaticFiles {
    /// Serves `dir`, with `index.html` as the index file.
    ///
    /// # Errors
    ///
    /// When `dir` does not exist or is not a directory.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::http::StaticFiles::new("/no/such/dir").is_err());
    /// ```
    pub fn new(dir: impl AsRef<Path>) -> io::Result<StaticFiles> {
        let root = fs::canonicalize(dir.as_ref())?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticFiles {
            root,
            index: Some("index.html".to_owned()),
        })
    }

    /// The file served for a directory path ending in `/` (`None`: such
    /// paths are 404; there are never directory listings).
    ///
    /// # Examples
    ///
    /// ```
    /// let files = sanio::http::StaticFiles::new(".")?.index_file(Some("default.htm"));
    /// # let _ = files;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn index_file(mut self, name: Option<&str>) -> StaticFiles {
        self.index = name.map(str::to_owned);
        self
    }

    /// The directory served (canonical).
    ///
    /// # Examples
    ///
    /// ```
    /// let files = sanio::http::StaticFiles::new(".")?;
    /// assert!(files.root().is_absolute());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers `request` for `rel`, the part of the request path below the
    /// prefix **as sent** (not decoded; `request.raw_path()` minus the
    /// prefix). The body is streamed, so this must run on a sanio loop for
    /// a `GET` (a `HEAD` reads no file).
    ///
    /// # Examples
    ///
    /// See [`StaticFiles`].
    pub fn serve(&self, request: &Request, rel: &str) -> Response {
        match self.try_serve(request, rel) {
            Ok(response) => response,
            Err(Refused::NotFound) => HttpError::not_found("Not Found").into_response(),
            Err(Refused::Redirect) => {
                let mut location = request.raw_path().to_owned();
                location.push('/');
                if !request.query_string().is_empty() {
                    location.push('?');
                    location.push_str(request.query_string());
                }
                Response::new(StatusCode::MOVED_PERMANENTLY).with_header("location", &location)
            }
        }
    }

    /// The response, or why there is none.
    fn try_serve(&self, request: &Request, rel: &str) -> Result<Response, Refused> {
        let segments = safe_segments(rel).map_err(|_| Refused::NotFound)?;
        let wants_dir = rel.is_empty() || rel.ends_with('/');
        let mut path = self.root.clone();
        path.extend(&segments);
        let mut path = self.inside(&path)?;
        let mut meta = fs::metadata(&path).map_err(|_| Refused::NotFound)?;
        if meta.is_dir() {
            if !wants_dir {
                return Err(Refused::Redirect);
            }
            let index = self.index.as_deref().ok_or(Refused::NotFound)?;
            path = self.inside(&path.join(index))?;
            meta = fs::metadata(&path).map_err(|_| Refused::NotFound)?;
        } else if wants_dir {
            return Err(Refused::NotFound);
        }
        if !meta.is_file() {
            return Err(Refused::NotFound);
        }
        let len = meta.len();
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let etag = etag(len, modified);
        let last_modified = httpdate::fmt_http_date(modified);
        let head = |status: StatusCode| {
            let mut response = Response::new(status)
                .with_header("etag", &etag)
                .with_header("last-modified", &last_modified)
                .with_header("accept-ranges", "bytes");
            response
                .headers_mut()
                .append("content-type", content_type(&path));
            response
        };
        let (status, start, count) = match plan(request.headers(), &etag, modified, len) {
            Plan::NotModified => {
                let mut response = head(StatusCode::NOT_MODIFIED);
                response.headers_mut().remove("content-type");
                return Ok(response);
            }
            Plan::Unsatisfiable => {
                return Ok(HttpError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "Range Not Satisfiable",
                )
                .into_response()
                .with_header("content-range", &format!("bytes */{len}")));
            }
            Plan::Full => (StatusCode::OK, 0, len),
            Plan::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        };
        let mut response = head(status);
        if status == StatusCode::PARTIAL_CONTENT {
            let end = start + count - 1;
            response
                .headers_mut()
                .append("content-range", &format!("bytes {start}-{end}/{len}"));
        }
        let (sender, stream) = sized_channel(count);
        response.body = Body::Stream(stream);
        if *request.method() == Method::Head || count == 0 {
            return Ok(response); // the sender drops: nothing to read
        }
        let mut file = File::open(&path).map_err(|_| Refused::NotFound)?;
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .map_err(|_| Refused::NotFound)?;
        }
        let send = crate::rt::try_spawn(send_file(file, count, sender));
        match send {
            Ok(task) => drop(task), // detached: it ends with the body
            Err(err) => {
                log::error!("cannot stream {}: {err}", path.display());
                return Ok(HttpError::internal("Internal Server Error").into_response());
            }
        }
        Ok(response)
    }

    /// `path` with symlinks resolved, if it exists and lies inside the root.
    fn inside(&self, path: &Path) -> Result<PathBuf, Refused> {
        let real = fs::canonicalize(path).map_err(|_| Refused::NotFound)?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            log::debug!("static: {} leads outside the root", path.display());
            Err(Refused::NotFound)
        }
    }
}

/// Why a file is not served.
enum Refused {
    /// 404.
    NotFound,
    /// A directory asked for without its trailing slash: 301 to it.
    Redirect,
}

/// Streams `count` bytes of `file` into the body. A file that shrank
/// meanwhile ends the body early; the connection then closes, since the
/// client was promised `count` bytes.
async fn send_file(mut file: File, count: u64, mut sender: super::BodySender) {
    let mut left = count;
    while left > 0 {
        let want = usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK));
        let mut chunk = vec![0; want];
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                chunk.truncate(n);
                left -= n as u64;
                if sender.send(chunk).await.is_err() {
                    break; // the client went away
                }
            }
            Err(err) => {
                log::error!("static file read failed: {err}");
                break;
            }
        }
    }
}

/// Why a path below the prefix was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsafe {
    /// An empty segment (`//`, or a leading `/`: an absolute path).
    Empty,
    /// `.` or `..`, however encoded.
    Dots,
    /// A `/`, `\` or NUL after decoding.
    Separator,
    /// Not UTF-8 after decoding.
    NotUtf8,
}

/// The segments of `rel` (the raw path below the prefix), each decoded
/// once, or why they are unsafe. A trailing `/` is allowed (a directory).
pub(crate) fn safe_segments(rel: &str) -> Result<Vec<String>, Unsafe> {
    let rel = rel.strip_suffix('/').unwrap_or(rel);
    if rel.is_empty() {
        return Ok(Vec::new());
    }
    rel.split('/')
        .map(|raw| {
            if raw.is_empty() {
                return Err(Unsafe::Empty);
            }
            let decoded = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| Unsafe::NotUtf8)?;
            if decoded.contains(['/', '\\', '\0']) {
                return Err(Unsafe::Separator);
            }
            if decoded == "." || decoded == ".." {
                return Err(Unsafe::Dots);
            }
            Ok(decoded.into_owned())
        })
        .collect()
}

/// The strong validator of a file: its length and modification time.
fn etag(len: u64, modified: SystemTime) -> String {
    let since = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "\"{len:x}-{:x}{:08x}\"",
        since.as_secs(),
        since.subsec_nanos()
    )
}

/// What to answer for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// 304: the client's copy is current.
    NotModified,
    /// 200 with the whole file.
    Full,
    /// 206 with bytes `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// 416: the range starts past the end.
    Unsatisfiable,
}

/// Applies `If-None-Match` (or else `If-Modified-Since`), then `Range` with
/// `If-Range`, to a file of `len` bytes (RFC 9110 §13.2.2). Several ranges
/// or a range that does not parse are ignored: the whole file is sent.
pub(crate) fn plan(headers: &Headers, etag: &str, modified: SystemTime, len: u64) -> Plan {
    if let Some(tags) = headers.get("if-none-match") {
        if etag_listed(tags, etag) {
            return Plan::NotModified;
        }
    } else if let Some(since) = headers
        .get("if-modified-since")
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        if whole_seconds(modified) <= whole_seconds(since) {
            return Plan::NotModified;
        }
    }
    let Some(range) = headers.get("range") else {
        return Plan::Full;
    };
    if let Some(if_range) = headers.get("if-range") {
        let current = if if_range.trim_start().starts_with(['"', 'W']) {
            if_range.trim() == etag
        } else {
            httpdate::parse_http_date(if_range)
                .is_ok_and(|at| whole_seconds(at) == whole_seconds(modified))
        };
        if !current {
            return Plan::Full;
        }
    }
    match parse_range(range, len) {
        Some(Some((start, end))) => Plan::Partial { start, end },
        Some(None) => Plan::Unsatisfiable,
        None => Plan::Full,
    }
}

/// True if `etag` is in the `If-None-Match` list (weak comparison).
fn etag_listed(tags: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let etag = bare(etag);
    tags.split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == etag)
}

/// Seconds since the epoch (HTTP dates have no fraction).
fn whole_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One `bytes=` range against `len`: `None` to ignore the header,
/// `Some(None)` for unsatisfiable, `Some(Some((start, end)))` inclusive.
fn parse_range(header: &str, len: u64) -> Option<Option<(u64, u64)>> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if first.is_empty() {
        let suffix = number(last)?;
        if suffix == 0 || len == 0 {
            return Some(None);
        }
        return Some(Some((len - suffix.min(len), len - 1)));
    }
    let start = number(first)?;
    let end = if last.is_empty() {
        None
    } else {
        Some(number(last)?)
    };
    if end.is_some_and(|end| end < start) {
        return None;
    }
    if start >= len {
        return Some(None);
    }
    let end = end.map_or(len - 1, |end| end.min(len - 1));
    Some(Some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn segments_table() {
        let ok: &[(&str, &[&str])] = &[
            ("", &[]),
            ("/", &[]),
            ("a.txt", &["a.txt"]),
            ("css/app.css", &["css", "app.css"]),
            ("sub/", &["sub"]),
            ("caf%C3%A9.txt", &["café.txt"]),
            ("a%20b", &["a b"]),
            ("%252e%252e", &["%2e%2e"]), // decoded once: a literal name
            ("..a", &["..a"]),
            ("a..", &["a.."]),
        ];
        for (rel, want) in ok {
            let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(safe_segments(rel), Ok(want), "{rel}");
        }
        let refused = [
            ("..", Unsafe::Dots),
            ("../x", Unsafe::Dots),
            ("a/../../x", Unsafe::Dots),
            ("./a", Unsafe::Dots),
            ("%2e%2e/x", Unsafe::Dots),
            ("%2E%2E", Unsafe::Dots),
            (".%2e", Unsafe::Dots),
            ("..%2fetc%2fpasswd", Unsafe::Separator),
            ("a%2fb", Unsafe::Separator),
            ("a%5cb", Unsafe::Separator),
            ("..\\x", Unsafe::Separator),
            ("a%00b", Unsafe::Separator),
            ("/etc/passwd", Unsafe::Empty),
            ("a//b", Unsafe::Empty),
            ("%ff", Unsafe::NotUtf8),
        ];
        for (rel, want) in refused {
            assert_eq!(safe_segments(rel), Err(want), "{rel}");
        }
    }

    #[test]
    fn ranges_table() {
        let len = 1000;
        let cases = [
            ("bytes=0-99", Some(Some((0, 99)))),
            ("bytes=100-", Some(Some((100, 999)))),
            ("bytes=-100", Some(Some((900, 999)))),
            ("bytes=-5000", Some(Some((0, 999)))),
            ("bytes=990-2000", Some(Some((990, 999)))),
            ("bytes=999-999", Some(Some((999, 999)))),
            ("bytes=1000-", Some(None)),
            ("bytes=5000-6000", Some(None)),
            ("bytes=-0", Some(None)),
            ("bytes=5-1", None),
            ("bytes=0-1,5-6", None),
            ("items=0-1", None),
            ("bytes=a-b", None),
            ("bytes=+1-2", None),
            ("bytes=-", None),
            ("bytes=18446744073709551616-", None),
        ];
        for (header, want) in cases {
            assert_eq!(parse_range(header, len), want, "{header}");
        }
        assert_eq!(parse_range("bytes=0-", 0), Some(None));
        assert_eq!(parse_range("bytes=-1", 0), Some(None));
    }

    #[test]
    fn conditionals_table() {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let tag = etag(10, modified);
        let date = httpdate::fmt_http_date(modified);
        let older = httpdate::fmt_http_date(modified - Duration::from_secs(60));
        let weak = format!("W/{tag}");
        let cases: Vec<(Vec<(&str, &str)>, Plan)> = vec![
            (vec![], Plan::Full),
            (vec![("If-None-Match", &tag)], Plan::NotModified),
            (vec![("If-None-Match", &weak)], Plan::NotModified),
            (vec![("If-None-Match", "\"x\", *")], Plan::NotModified),
            (vec![("If-None-Match", "\"other\"")], Plan::Full),
            (vec![("If-Modified-Since", &date)], Plan::NotModified),
            (vec![("If-Modified-Since", &older)], Plan::Full),
            (vec![("If-Modified-Since", "garbage")], Plan::Full),
            // If-None-Match wins over If-Modified-Since.
            (
                vec![("If-None-Match", "\"other\""), ("If-Modified-Since", &date)],
                Plan::Full,
            ),
            (
                vec![("Range", "bytes=2-3")],
                Plan::Partial { start: 2, end: 3 },
            ),
            (
                vec![("Range", "bytes=2-3"), ("If-Range", &tag)],
                Plan::Partial { start: 2, end: 3 },
            ),
            (
                vec![("Range", "bytes=2-3"), ("If-Range", "\"stale\"")],
                Plan::Full,
            ),
            (
                vec![("Range", "bytes=2-3"), ("If-Range", &date)],
                Plan::Partial { start: 2, end: 3 },
            ),
            (
                vec![("Range", "bytes=2-3"), ("If-Range", &older)],
                Plan::Full,
            ),
            (vec![("Range", "bytes=10-")], Plan::Unsatisfiable),
        ];
        for (fields, want) in cases {
            let mut headers = Headers::new();
            for (name, value) in &fields {
                headers.append(name, value);
            }
            assert_eq!(plan(&headers, &tag, modified, 10), want, "{fields:?}");
        }
    }
}
