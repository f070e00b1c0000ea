//! Static file routes: `app.static_files(prefix, dir)` mounts a
//! [`StaticFiles`] (the path rules and headers live there, in
//! `http/static_files.rs`).

use std::path::Path;
use std::sync::Arc;

use super::{App, Error};
use crate::http::{HttpError, IntoResponse, Request, Response, StaticFiles, StatusCode};

impl App {
    /// Serves the files of `dir` under `prefix` (`/static`), with
    /// `index.html` for directories: `GET` and `HEAD`, `ETag`,
    /// `Last-Modified`, 304, single ranges (206, 416), streamed bodies. No
    /// request can read outside `dir` (see [`StaticFiles`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `dir` is not a directory; as
    /// [`route`](Self::route) otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.static_files("/static", std::env::temp_dir()).unwrap();
    /// assert!(app.static_files("/other", "/no/such/dir").is_err());
    /// ```
    pub fn static_files(&self, prefix: &str, dir: impl AsRef<Path>) -> Result<(), Error> {
        self.static_files_with(prefix, StaticFiles::new(dir)?)
    }

    /// Serves `files` under `prefix` (for a different index file, or
    /// none).
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::http::StaticFiles;
    ///
    /// let app = sanio::App::new("demo");
    /// let files = StaticFiles::new(std::env::temp_dir())?.index_file(None);
    /// app.static_files_with("/files", files).unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn static_files_with(&self, prefix: &str, files: StaticFiles) -> Result<(), Error> {
        let prefix: Arc<str> = prefix.trim_end_matches('/').into();
        let files = Arc::new(files);
        let handler = {
            let (prefix, files) = (Arc::clone(&prefix), Arc::clone(&files));
            move |request: Request| {
                let response = serve(&files, &prefix, &request);
                async move { response }
            }
        };
        let root = if prefix.is_empty() { "/" } else { &prefix };
        self.get(root, handler.clone())?;
        self.get(&format!("{prefix}/<file_path:path>"), handler)
    }
}

/// Answers one request for a file below `prefix`.
fn serve(files: &StaticFiles, prefix: &str, request: &Request) -> Response {
    let Some(below) = request.raw_path().strip_prefix(prefix) else {
        // The prefix was sent percent-encoded: not a path we serve.
        return HttpError::not_found("Not Found").into_response();
    };
    match below.strip_prefix('/') {
        Some(rel) => files.serve(request, rel),
        // `/static` without its slash: relative links in an index page
        // need the slash, so redirect to it.
        None if below.is_empty() => {
            let mut location = format!("{prefix}/");
            if !request.query_string().is_empty() {
                location.push('?');
                location.push_str(request.query_string());
            }
            Response::new(StatusCode::MOVED_PERMANENTLY).with_header("location", &location)
        }
        None => HttpError::not_found("Not Found").into_response(),
    }
}
