//! `multipart/form-data` bodies, through `multer` (behind the default
//! `multipart` feature): whole into a [`Form`](super::Form), or part by
//! part as they arrive with [`FormStream`].
//!
//! `multer` is runtime-agnostic: it reads any `Stream` of byte chunks. For
//! a whole form the stream is the body already read, fed in 64 KiB slices,
//! so the parse never waits and is driven to its end with one poll; for a
//! `FormStream` it is the connection's [`RequestBody`](super::RequestBody).
//! Either way the limits are checked as each chunk of each part arrives.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::FutureExt;

use super::body_stream::BodyError;
use super::form::{Form, FormError, FormFile, FormLimits};
use super::request::Request;

/// Bytes per slice handed to the parser.
const SLICE: usize = 64 * 1024;

/// Parses a multipart body whose `Content-Type` is `content_type`.
pub(crate) fn parse(
    body: &[u8],
    content_type: &str,
    limits: &FormLimits,
) -> Result<Form, FormError> {
    limits.check_total(body.len())?;
    let boundary = multer::parse_boundary(content_type)
        .map_err(|err| FormError::Malformed(err.to_string()))?;
    let slices = body
        .chunks(SLICE)
        .map(|slice| Ok::<Bytes, Infallible>(Bytes::copy_from_slice(slice)));
    let multipart = multer::Multipart::new(futures_util::stream::iter(slices), boundary);
    match read_all(multipart, limits).now_or_never() {
        Some(result) => result,
        // Unreachable: every chunk is ready. Refuse rather than wait.
        None => Err(FormError::Malformed("incomplete body".to_owned())),
    }
}

/// Reads every part within `limits`.
async fn read_all(
    mut multipart: multer::Multipart<'_>,
    limits: &FormLimits,
) -> Result<Form, FormError> {
    let mut form = Form::default();
    let mut parts = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        parts += 1;
        limits.check_parts(parts)?;
        let name = field.name().unwrap_or("").to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(ToString::to_string);
        let is_file = filename.is_some();
        let mut data = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            limits.check_part(&name, is_file, data.len() + chunk.len())?;
            data.extend_from_slice(&chunk);
        }
        if is_file {
            form.files.push(FormFile {
                field: name,
                filename,
                content_type,
                data,
            });
        } else {
            let value = String::from_utf8(data)
                .map_err(|_| FormError::Malformed(format!("field {name:?} is not UTF-8")))?;
            form.fields.push((name, value));
        }
    }
    Ok(form)
}

/// A parser error as a 400.
fn malformed(err: multer::Error) -> FormError {
    FormError::Malformed(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A multipart body with boundary `XyZ` from (name, filename, value).
    fn body(parts: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
        let mut out = String::new();
        for (name, filename, value) in parts {
            out.push_str("--XyZ\r\n");
            match filename {
                Some(f) => out.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/plain\r\n\r\n"
                )),
                None => out.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )),
            }
            out.push_str(value);
            out.push_str("\r\n");
        }
        out.push_str("--XyZ--\r\n");
        out.into_bytes()
    }

    const TYPE: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn fields_and_files() {
        let raw = body(&[
            ("title", None, "hello"),
            ("doc", Some("a.txt"), "file body"),
            ("title", None, "again"),
        ]);
        let form = parse(&raw, TYPE, &FormLimits::default()).unwrap();
        assert_eq!(
            form.get_all("title").collect::<Vec<_>>(),
            ["hello", "again"]
        );
        let file = form.file("doc").unwrap();
        assert_eq!(file.filename.as_deref(), Some("a.txt"));
        assert_eq!(file.content_type.as_deref(), Some("text/plain"));
        assert_eq!(file.data, b"file body");
    }

    #[test]
    fn limits_and_faults_table() {
        let three = body(&[("a", None, "1"), ("b", None, "2"), ("c", None, "3")]);
        let big_field = body(&[("bio", None, "0123456789")]);
        let big_file = body(&[("up", Some("x.bin"), "0123456789")]);
        let limits = FormLimits::default()
            .max_parts(2)
            .max_field_bytes(5)
            .max_file_bytes(8);
        let cases: Vec<(&[u8], &str, u16, &str)> = vec![
            (&three, TYPE, 413, "more than 2 parts"),
            (
                &big_field,
                TYPE,
                413,
                "field \"bio\" is larger than 5 bytes",
            ),
            (&big_file, TYPE, 413, "file \"up\" is larger than 8 bytes"),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
                TYPE,
                400,
                "malformed",
            ),
            (b"garbage", TYPE, 400, "malformed"),
            (&three, "multipart/form-data", 400, "malformed"),
        ];
        for (raw, ty, status, message) in cases {
            let err = parse(raw, ty, &limits).unwrap_err();
            assert_eq!(err.status().as_u16(), status, "{err}");
            assert!(err.to_string().contains(message), "{err}");
        }
        let total = FormLimits::default().max_total_bytes(10);
        assert_eq!(parse(&three, TYPE, &total), Err(FormError::TooLarge(10)));
    }

    #[test]
    fn non_utf8_field_is_400() {
        let mut raw = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n".to_vec();
        raw.extend_from_slice(&[0xff, 0xfe]);
        raw.extend_from_slice(b"\r\n--XyZ--\r\n");
        let err = parse(&raw, TYPE, &FormLimits::default()).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
    }
}

/// The form body passed `max_total_bytes` while streaming.
#[derive(Debug)]
struct OverTotal(usize);

impl std::fmt::Display for OverTotal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "form is larger than {} bytes", self.0)
    }
}

impl std::error::Error for OverTotal {}

/// A multipart form read part by part as the body arrives: for uploads too
/// large to hold (see `App::route_streaming`). Parts must be read in
/// order; asking for the next part skips what is left of this one.
///
/// # Examples
///
/// ```
/// use sanio::http::FormLimits;
/// use sanio::{App, HttpError, Method, Request};
///
/// let app = App::new("uploads");
/// app.route_streaming(Method::Post, "/upload", |mut req: Request| async move {
///     let limits = FormLimits::default().max_file_bytes(1 << 30);
///     let mut form = req.form_stream(limits)?;
///     let mut sizes = Vec::new();
///     while let Some(mut part) = form.next_part().await? {
///         let mut size = 0;
///         while let Some(chunk) = part.chunk().await? {
///             size += chunk.len(); // write it to disk, hash it...
///         }
///         sizes.push(format!("{}={size}", part.name()));
///     }
///     Ok::<_, HttpError>(sizes.join(","))
/// })
/// .unwrap();
/// ```
pub struct FormStream {
    /// The parser over the body stream.
    inner: multer::Multipart<'static>,
    /// The limits.
    limits: FormLimits,
    /// Parts so far.
    parts: usize,
}

/// One part of a [`FormStream`]: a field or a file, read chunk by chunk.
pub struct FormPart {
    /// The parser's field.
    inner: multer::Field<'static>,
    /// The field name.
    name: String,
    /// The file name, for a file.
    filename: Option<String>,
    /// The part's content type.
    content_type: Option<String>,
    /// Bytes read so far.
    seen: usize,
    /// The limits.
    limits: FormLimits,
}

impl FormStream {
    /// The next part, or `None` after the last.
    ///
    /// # Errors
    ///
    /// [`FormError`]: too many parts, a body over a limit, a malformed
    /// body, or a connection that ended early.
    ///
    /// # Examples
    ///
    /// See [`FormStream`].
    pub async fn next_part(&mut self) -> Result<Option<FormPart>, FormError> {
        let Some(field) = self.inner.next_field().await.map_err(stream_error)? else {
            return Ok(None);
        };
        self.parts += 1;
        self.limits.check_parts(self.parts)?;
        Ok(Some(FormPart {
            name: field.name().unwrap_or("").to_owned(),
            filename: field.file_name().map(str::to_owned),
            content_type: field.content_type().map(ToString::to_string),
            inner: field,
            seen: 0,
            limits: self.limits.clone(),
        }))
    }
}

impl FormPart {
    /// The field name.
    ///
    /// # Examples
    ///
    /// See [`FormStream`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name the client gave, for a file (a label, never a path to
    /// trust).
    ///
    /// # Examples
    ///
    /// See [`FormStream`].
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The part's `Content-Type`, if sent.
    ///
    /// # Examples
    ///
    /// See [`FormStream`].
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The next chunk of this part, `None` at its end.
    ///
    /// # Errors
    ///
    /// [`FormError`]: the part over its limit (`max_field_bytes` or
    /// `max_file_bytes`), the form over `max_total_bytes`, a malformed body.
    ///
    /// # Examples
    ///
    /// See [`FormStream`].
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, FormError> {
        let Some(chunk) = self.inner.chunk().await.map_err(stream_error)? else {
            return Ok(None);
        };
        self.seen += chunk.len();
        self.limits
            .check_part(&self.name, self.filename.is_some(), self.seen)?;
        Ok(Some(chunk.to_vec()))
    }

    /// The rest of this part as text (for a field).
    ///
    /// # Errors
    ///
    /// As [`chunk`](Self::chunk), and a 400 for text that is not UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn f(mut form: sanio::http::FormStream) -> Result<(), sanio::FormError> {
    /// while let Some(part) = form.next_part().await? {
    ///     if part.filename().is_none() {
    ///         let _value: String = part.text().await?;
    ///     }
    /// }
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    pub async fn text(mut self) -> Result<String, FormError> {
        let mut data = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            data.extend_from_slice(&chunk);
        }
        String::from_utf8(data)
            .map_err(|_| FormError::Malformed(format!("field {:?} is not UTF-8", self.name)))
    }
}

impl std::fmt::Debug for FormStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormStream")
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for FormPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormPart")
            .field("name", &self.name)
            .field("filename", &self.filename)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// A parser error, with the body's own errors told apart.
fn stream_error(err: multer::Error) -> FormError {
    if let multer::Error::StreamReadFailed(source) = &err {
        if let Some(over) = source.downcast_ref::<OverTotal>() {
            return FormError::TooLarge(over.0);
        }
        if let Some(body) = source.downcast_ref::<BodyError>() {
            return match body {
                BodyError::TooLarge => FormError::TooLarge(0),
                other => FormError::Malformed(other.to_string()),
            };
        }
    }
    malformed(err)
}

impl Request {
    /// The body of a streaming route as a multipart form read part by
    /// part (see [`FormStream`]); `limits` apply as it passes, the request
    /// body limit too.
    ///
    /// # Errors
    ///
    /// [`FormError::UnsupportedType`] unless the body is
    /// `multipart/form-data` (read small urlencoded forms with
    /// [`form`](Self::form) on a plain route); [`FormError::NotStreamed`]
    /// when the route is not a streaming one.
    ///
    /// # Examples
    ///
    /// See [`FormStream`].
    pub fn form_stream(&mut self, limits: FormLimits) -> Result<FormStream, FormError> {
        let content_type = self.header("content-type").unwrap_or("").to_owned();
        let boundary = match multer::parse_boundary(&content_type) {
            Ok(boundary) => boundary,
            Err(_)
                if !content_type
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data") =>
            {
                return Err(FormError::UnsupportedType(content_type));
            }
            Err(err) => return Err(FormError::Malformed(err.to_string())),
        };
        let body = self.body_stream().ok_or(FormError::NotStreamed)?;
        let total = limits.max_total_bytes_value();
        let chunks =
            futures_util::stream::unfold((body, 0usize), move |(mut body, seen)| async move {
                match body.chunk().await {
                    Ok(Some(chunk)) if seen + chunk.len() > total => Some((
                        Err(Box::new(OverTotal(total)) as BoxError),
                        (body, usize::MAX),
                    )),
                    Ok(Some(chunk)) => {
                        let seen = seen + chunk.len();
                        Some((Ok(Bytes::from(chunk)), (body, seen)))
                    }
                    Ok(None) => None,
                    Err(err) => Some((Err(Box::new(err) as BoxError), (body, seen))),
                }
            });
        Ok(FormStream {
            inner: multer::Multipart::new(chunks, boundary),
            limits,
            parts: 0,
        })
    }
}

/// The error type the parser's stream carries.
type BoxError = Box<dyn std::error::Error + Send + Sync>;
