//! `StatusCode`: a response status with its reason phrase.

use std::fmt;

/// An HTTP status code. Any value from 100 to 999 can be made with
/// [`StatusCode::new`]; the common ones are constants.
///
/// # Examples
///
/// ```
/// use sanio::StatusCode;
///
/// assert_eq!(StatusCode::NOT_FOUND.as_u16(), 404);
/// assert_eq!(StatusCode::NOT_FOUND.reason(), "Not Found");
/// assert_eq!(StatusCode::new(299).reason(), "");
/// assert_eq!(StatusCode::OK.to_string(), "200 OK");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

/// The constants and their reasons, in one table.
macro_rules! statuses {
    ($($name:ident = $code:expr, $reason:expr;)*) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`.")]
                pub const $name: StatusCode = StatusCode($code);
            )*

            /// The standard reason phrase, or `""` for a code without one.
            ///
            /// # Examples
            ///
            /// ```
            /// assert_eq!(sanio::StatusCode::IM_A_TEAPOT.reason(), "I'm a teapot");
            /// ```
            pub const fn reason(self) -> &'static str {
                match self.0 {
                    $($code => $reason,)*
                    _ => "",
                }
            }
        }
    };
}

statuses! {
    CONTINUE = 100, "Continue";
    SWITCHING_PROTOCOLS = 101, "Switching Protocols";
    OK = 200, "OK";
    CREATED = 201, "Created";
    ACCEPTED = 202, "Accepted";
    NO_CONTENT = 204, "No Content";
    PARTIAL_CONTENT = 206, "Partial Content";
    MOVED_PERMANENTLY = 301, "Moved Permanently";
    FOUND = 302, "Found";
    SEE_OTHER = 303, "See Other";
    NOT_MODIFIED = 304, "Not Modified";
    TEMPORARY_REDIRECT = 307, "Temporary Redirect";
    PERMANENT_REDIRECT = 308, "Permanent Redirect";
    BAD_REQUEST = 400, "Bad Request";
    UNAUTHORIZED = 401, "Unauthorized";
    FORBIDDEN = 403, "Forbidden";
    NOT_FOUND = 404, "Not Found";
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed";
    NOT_ACCEPTABLE = 406, "Not Acceptable";
    REQUEST_TIMEOUT = 408, "Request Timeout";
    CONFLICT = 409, "Conflict";
    GONE = 410, "Gone";
    LENGTH_REQUIRED = 411, "Length Required";
    PAYLOAD_TOO_LARGE = 413, "Payload Too Large";
    URI_TOO_LONG = 414, "URI Too Long";
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported Media Type";
    RANGE_NOT_SATISFIABLE = 416, "Range Not Satisfiable";
    EXPECTATION_FAILED = 417, "Expectation Failed";
    IM_A_TEAPOT = 418, "I'm a teapot";
    UNPROCESSABLE_ENTITY = 422, "Unprocessable Entity";
    UPGRADE_REQUIRED = 426, "Upgrade Required";
    TOO_MANY_REQUESTS = 429, "Too Many Requests";
    REQUEST_HEADER_FIELDS_TOO_LARGE = 431, "Request Header Fields Too Large";
    INTERNAL_SERVER_ERROR = 500, "Internal Server Error";
    NOT_IMPLEMENTED = 501, "Not Implemented";
    BAD_GATEWAY = 502, "Bad Gateway";
    SERVICE_UNAVAILABLE = 503, "Service Unavailable";
    GATEWAY_TIMEOUT = 504, "Gateway Timeout";
    HTTP_VERSION_NOT_SUPPORTED = 505, "HTTP Version Not Supported";
}

impl StatusCode {
    /// A status from its number.
    ///
    /// # Panics
    ///
    /// If `code` is not in `100..=999` (a programming error: statuses are
    /// chosen by the program, not read from input).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::StatusCode::new(200), sanio::StatusCode::OK);
    /// ```
    pub const fn new(code: u16) -> Self {
        assert!(code >= 100 && code <= 999, "a status code has three digits");
        Self(code)
    }

    /// The number.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::StatusCode::CREATED.as_u16(), 201);
    /// ```
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// True for 1xx: no body, and no `Content-Length`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::StatusCode::SWITCHING_PROTOCOLS.is_informational());
    /// ```
    pub const fn is_informational(self) -> bool {
        self.0 < 200
    }

    /// True for 2xx.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::StatusCode::NO_CONTENT.is_success());
    /// ```
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// True for 4xx and 5xx.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::StatusCode::BAD_REQUEST.is_error());
    /// assert!(!sanio::StatusCode::FOUND.is_error());
    /// ```
    pub const fn is_error(self) -> bool {
        self.0 >= 400
    }

    /// True when a response with this status never has a body (1xx, 204,
    /// 304).
    pub(crate) const fn has_no_body(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }
}

impl Default for StatusCode {
    fn default() -> Self {
        Self::OK
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusCode({})", self.0)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

impl From<StatusCode> for u16 {
    fn from(status: StatusCode) -> u16 {
        status.0
    }
}
