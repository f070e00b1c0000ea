//! `multipart/form-data` bodies into a [`Form`](super::Form), through
//! `multer` (behind the default `multipart` feature).
//!
//! `multer` is runtime-agnostic: it reads any `Stream` of byte chunks. Here
//! the stream is the body already read, fed in 64 KiB slices, so the parse
//! never waits and is driven to its end with one poll; the limits are
//! checked as each chunk of each part arrives.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::FutureExt;

use super::form::{Form, FormError, FormFile, FormLimits};

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
