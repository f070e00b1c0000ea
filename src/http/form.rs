//! Forms: `application/x-www-form-urlencoded` and `multipart/form-data`
//! request bodies into a [`Form`] of fields and files, within
//! [`FormLimits`].
//!
//! The urlencoded grammar is `form_urlencoded`'s; multipart boundaries are
//! `multer`'s (see `multipart.rs`, behind the default `multipart` feature).
//! Every limit is checked while parsing, so a hostile body is refused as
//! soon as it crosses one: too many parts or too large a field, file or
//! form is a 413, a malformed body a 400, another content type a 415, each
//! with a message that names the limit.

use std::fmt;

use super::error::HttpError;
use super::request::Request;
use super::response::{IntoResponse, Response};
use super::status::StatusCode;

/// Limits on a form. The request body limit (`Limits::max_body_bytes`)
/// applies first, before any of these.
///
/// # Examples
///
/// ```
/// let limits = sanio::http::FormLimits::default()
///     .max_parts(10)
///     .max_field_bytes(1024)
///     .max_file_bytes(1 << 20)
///     .max_total_bytes(2 << 20);
/// assert_eq!(limits.get_max_parts(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormLimits {
    /// Fields and files together.
    max_parts: usize,
    /// Bytes of one text field's value.
    max_field_bytes: usize,
    /// Bytes of one file.
    max_file_bytes: usize,
    /// Bytes of the whole form body.
    max_total_bytes: usize,
}

impl Default for FormLimits {
    /// 128 parts, 64 KiB per field, 16 MiB per file and in all.
    fn default() -> Self {
        FormLimits {
            max_parts: 128,
            max_field_bytes: 64 * 1024,
            max_file_bytes: 16 * 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024,
        }
    }
}

impl FormLimits {
    /// At most `n` parts (fields and files).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::http::FormLimits::default().max_parts(3).get_max_parts(), 3);
    /// ```
    #[must_use]
    pub fn max_parts(mut self, n: usize) -> Self {
        self.max_parts = n;
        self
    }

    /// At most `n` bytes in one text field.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = sanio::http::FormLimits::default().max_field_bytes(256);
    /// ```
    #[must_use]
    pub fn max_field_bytes(mut self, n: usize) -> Self {
        self.max_field_bytes = n;
        self
    }

    /// At most `n` bytes in one file.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = sanio::http::FormLimits::default().max_file_bytes(1 << 20);
    /// ```
    #[must_use]
    pub fn max_file_bytes(mut self, n: usize) -> Self {
        self.max_file_bytes = n;
        self
    }

    /// At most `n` bytes of form body.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = sanio::http::FormLimits::default().max_total_bytes(4 << 20);
    /// ```
    #[must_use]
    pub fn max_total_bytes(mut self, n: usize) -> Self {
        self.max_total_bytes = n;
        self
    }

    /// The total limit.
    #[cfg(feature = "multipart")]
    pub(crate) fn max_total_bytes_value(&self) -> usize {
        self.max_total_bytes
    }

    /// The parts limit.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::http::FormLimits::default().get_max_parts(), 128);
    /// ```
    pub fn get_max_parts(&self) -> usize {
        self.max_parts
    }

    /// Checks one more part against the limit (`count` parts so far).
    pub(crate) fn check_parts(&self, count: usize) -> Result<(), FormError> {
        if count > self.max_parts {
            return Err(FormError::TooManyParts(self.max_parts));
        }
        Ok(())
    }

    /// Checks a part's size so far.
    pub(crate) fn check_part(&self, name: &str, file: bool, len: usize) -> Result<(), FormError> {
        let limit = if file {
            self.max_file_bytes
        } else {
            self.max_field_bytes
        };
        if len > limit {
            return Err(FormError::PartTooLarge {
                name: name.to_owned(),
                file,
                limit,
            });
        }
        Ok(())
    }

    /// Checks the body size so far.
    pub(crate) fn check_total(&self, len: usize) -> Result<(), FormError> {
        if len > self.max_total_bytes {
            return Err(FormError::TooLarge(self.max_total_bytes));
        }
        Ok(())
    }
}

/// One uploaded file of a multipart form.
///
/// # Examples
///
/// ```
/// let file = sanio::http::FormFile {
///     field: "avatar".into(),
///     filename: Some("me.png".into()),
///     content_type: Some("image/png".into()),
///     data: vec![0x89, b'P'],
/// };
/// assert_eq!(file.data.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFile {
    /// The form field's name.
    pub field: String,
    /// The file name the client gave (never a path to trust: use it as a
    /// label only).
    pub filename: Option<String>,
    /// The part's `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The contents.
    pub data: Vec<u8>,
}

/// A parsed form: text fields in order, and files.
///
/// # Examples
///
/// ```
/// use sanio::{Method, Request};
///
/// let request = Request::new(Method::Post, "/")
///     .with_header("Content-Type", "application/x-www-form-urlencoded")
///     .with_body("name=Ada+L&tag=a&tag=b");
/// let form = request.form()?;
/// assert_eq!(form.get("name"), Some("Ada L"));
/// assert_eq!(form.get_all("tag").collect::<Vec<_>>(), ["a", "b"]);
/// assert!(form.files().is_empty());
/// # Ok::<(), sanio::http::FormError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// (name, value) in order.
    pub(crate) fields: Vec<(String, String)>,
    /// Files in order.
    pub(crate) files: Vec<FormFile>,
}

impl Form {
    /// The first value of field `name`.
    ///
    /// # Examples
    ///
    /// See [`Form`].
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of field `name`, in order.
    ///
    /// # Examples
    ///
    /// See [`Form`].
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every text field, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::http::Form::default().fields().is_empty());
    /// ```
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The first file sent in field `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::http::Form::default().file("avatar").is_none());
    /// ```
    pub fn file(&self, name: &str) -> Option<&FormFile> {
        self.files.iter().find(|f| f.field == name)
    }

    /// Every file, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::http::Form::default().files().is_empty());
    /// ```
    pub fn files(&self) -> &[FormFile] {
        &self.files
    }
}

/// Why a form was refused; each answers with its status (413, 400 or 415)
/// and a message naming the limit or the fault.
///
/// # Examples
///
/// ```
/// use sanio::http::FormError;
///
/// let err = FormError::TooManyParts(10);
/// assert_eq!(err.status().as_u16(), 413);
/// assert_eq!(err.to_string(), "form has more than 10 parts");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormError {
    /// The body is neither urlencoded nor multipart (or multipart without
    /// the `multipart` feature). 415.
    UnsupportedType(String),
    /// More parts than `max_parts`. 413.
    TooManyParts(usize),
    /// A field or file over its limit. 413.
    PartTooLarge {
        /// The field's name.
        name: String,
        /// A file (else a text field).
        file: bool,
        /// The limit crossed.
        limit: usize,
    },
    /// The form body over `max_total_bytes` (0: over the request body
    /// limit). 413.
    TooLarge(usize),
    /// The body does not parse (a bad boundary, a truncated part, a text
    /// field that is not UTF-8), or the connection ended mid-body. 400.
    Malformed(String),
    /// `form_stream` on a route that was not added with
    /// `App::route_streaming` (its body was read whole). 500: a bug in the
    /// app, not the client.
    NotStreamed,
}

impl FormError {
    /// The status that answers this error.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = sanio::http::FormError::Malformed("no boundary".into());
    /// assert_eq!(err.status().as_u16(), 400);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            FormError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FormError::TooManyParts(_)
            | FormError::PartTooLarge { .. }
            | FormError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FormError::Malformed(_) => StatusCode::BAD_REQUEST,
            FormError::NotStreamed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::UnsupportedType(ty) => write!(
                f,
                "expected a form (application/x-www-form-urlencoded or multipart/form-data), got {ty:?}"
            ),
            FormError::TooManyParts(n) => write!(f, "form has more than {n} parts"),
            FormError::PartTooLarge { name, file, limit } => {
                let what = if *file { "file" } else { "field" };
                write!(f, "form {what} {name:?} is larger than {limit} bytes")
            }
            FormError::TooLarge(0) => f.write_str("request body too large"),
            FormError::TooLarge(n) => write!(f, "form is larger than {n} bytes"),
            FormError::Malformed(why) => write!(f, "malformed form: {why}"),
            FormError::NotStreamed => f.write_str(
                "form_stream needs a route added with App::route_streaming",
            ),
        }
    }
}

impl std::error::Error for FormError {}

impl From<FormError> for HttpError {
    fn from(err: FormError) -> Self {
        HttpError::new(err.status(), err.to_string())
    }
}

impl IntoResponse for FormError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// Parses an urlencoded body within `limits`.
pub(crate) fn parse_urlencoded(body: &[u8], limits: &FormLimits) -> Result<Form, FormError> {
    limits.check_total(body.len())?;
    let mut form = Form::default();
    for (count, (name, value)) in form_urlencoded::parse(body).enumerate() {
        limits.check_parts(count + 1)?;
        limits.check_part(&name, false, value.len())?;
        form.fields.push((name.into_owned(), value.into_owned()));
    }
    Ok(form)
}

impl Request {
    /// The body as a form, within the default [`FormLimits`].
    ///
    /// # Errors
    ///
    /// [`FormError`], which answers with 413, 400 or 415 (use `?` in a
    /// handler returning `Result<_, HttpError>`).
    ///
    /// # Examples
    ///
    /// See [`Form`].
    pub fn form(&self) -> Result<Form, FormError> {
        self.form_with(&FormLimits::default())
    }

    /// The body as a form, within `limits`.
    ///
    /// # Errors
    ///
    /// As [`form`](Self::form).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::http::{FormError, FormLimits};
    /// use sanio::{Method, Request};
    ///
    /// let request = Request::new(Method::Post, "/")
    ///     .with_header("Content-Type", "application/x-www-form-urlencoded")
    ///     .with_body("a=1&b=2&c=3");
    /// let err = request.form_with(&FormLimits::default().max_parts(2)).unwrap_err();
    /// assert_eq!(err, FormError::TooManyParts(2));
    /// ```
    pub fn form_with(&self, limits: &FormLimits) -> Result<Form, FormError> {
        let content_type = self.header("content-type").unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-www-form-urlencoded" => parse_urlencoded(self.body(), limits),
            #[cfg(feature = "multipart")]
            "multipart/form-data" => super::multipart::parse(self.body(), content_type, limits),
            _ => Err(FormError::UnsupportedType(content_type.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_table() {
        let limits = FormLimits::default()
            .max_parts(3)
            .max_field_bytes(5)
            .max_total_bytes(40);
        type Case = (
            &'static str,
            Result<&'static [(&'static str, &'static str)], FormError>,
        );
        let cases: &[Case] = &[
            ("", Ok(&[])),
            ("a=1", Ok(&[("a", "1")])),
            (
                "a=1&b=x+y&c=%41",
                Ok(&[("a", "1"), ("b", "x y"), ("c", "A")]),
            ),
            ("a", Ok(&[("a", "")])),
            ("a=1&&b=2", Ok(&[("a", "1"), ("b", "2")])),
            ("a=1&b=2&c=3&d=4", Err(FormError::TooManyParts(3))),
            (
                "a=123456",
                Err(FormError::PartTooLarge {
                    name: "a".into(),
                    file: false,
                    limit: 5,
                }),
            ),
            (
                "a=12345&b=12345&c=12345&d=1234567890",
                Err(FormError::TooManyParts(3)),
            ),
            (
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
                Err(FormError::TooLarge(40)),
            ),
        ];
        for (body, want) in cases {
            let got = parse_urlencoded(body.as_bytes(), &limits);
            let want = want.clone().map(|fields| Form {
                fields: fields
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
                files: Vec::new(),
            });
            assert_eq!(got, want, "{body}");
        }
    }

    #[test]
    fn other_content_types_are_415() {
        for ty in ["", "application/json", "text/plain"] {
            let request = Request::new(super::super::Method::Post, "/")
                .with_header("Content-Type", ty)
                .with_body("a=1");
            let err = request.form().unwrap_err();
            assert_eq!(err.status().as_u16(), 415, "{ty}");
        }
    }

    #[test]
    fn errors_have_clear_messages() {
        let err = FormError::PartTooLarge {
            name: "bio".into(),
            file: false,
            limit: 10,
        };
        assert_eq!(
            err.to_string(),
            "form field \"bio\" is larger than 10 bytes"
        );
        let response = err.into_response();
        assert_eq!(response.status().as_u16(), 413);
        assert_eq!(
            response.body_bytes(),
            Some(&br#"{"error": "form field \"bio\" is larger than 10 bytes"}"#[..])
        );
    }
}
