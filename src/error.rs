//! The one application error type, and its single mapping to GraphQL errors.

use async_graphql::ErrorExtensions;

/// Everything a service can refuse or fail with. Clients match on the code in
/// `extensions.code`; the message is for people.
///
/// It deliberately has no `Display`: async-graphql converts anything displayable into an
/// error without a code, so the only way out to a client is `extend`, below.
#[derive(Debug)]
pub enum AppError {
    BadUserInput(String),
    NotFound(String),
    Unauthenticated,
    BadCredentials,
    Forbidden(String),
    Conflict {
        message: String,
        current_version: Option<i32>,
    },
    TooManyAttempts,
    /// The operation ran past its time limit (the message says which).
    Timeout(String),
    /// The server is shedding load (too many sign-ins from one address, or the password
    /// hashing queue is full); the client may retry after the given number of seconds.
    TooManyRequests {
        retry_after_seconds: u64,
    },
    /// The HTTP request cannot be read as a GraphQL request at all: its body is not UTF-8
    /// or not JSON, it is a batch, its multipart parts are broken, its `query` is missing.
    MalformedRequest(String),
    /// The request body comes in a content type the server does not read.
    UnsupportedMediaType(String),
    /// The request body is larger than the limit (both in bytes).
    BodyTooLarge {
        length: u64,
        limit: u64,
    },
    /// A request body was sent without a `Content-Length`.
    LengthRequired,
    /// The request used a method its operation may not be sent with.
    MethodNotAllowed(String),
    /// Stands last in an answer whose errors were cut short, saying how many were left out.
    ErrorsLeftOut {
        count: usize,
    },
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        Self::Unexpected(error)
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// The message for people; internal errors say nothing of their cause.
    pub fn message(&self) -> String {
        match self {
            Self::BadUserInput(message)
            | Self::NotFound(message)
            | Self::Forbidden(message)
            | Self::MalformedRequest(message)
            | Self::UnsupportedMediaType(message)
            | Self::MethodNotAllowed(message) => message.clone(),
            Self::Conflict { message, .. } => message.clone(),
            Self::Unauthenticated => "sign in first: this operation needs a valid token".into(),
            Self::BadCredentials => "the username or the password is wrong".into(),
            Self::TooManyAttempts => {
                "too many failed sign-in attempts for this username; try again later".into()
            }
            Self::Timeout(message) => message.clone(),
            Self::TooManyRequests {
                retry_after_seconds,
            } => format!("too many requests; try again in {retry_after_seconds} s"),
            Self::BodyTooLarge { length, limit } => {
                format!("the request body is {length} bytes; the limit is {limit} bytes")
            }
            Self::LengthRequired => "send the request body with a Content-Length".into(),
            Self::ErrorsLeftOut { count } => format!(
                "{count} more error{} left out of this answer; correct the ones above and send it again",
                if *count == 1 { " was" } else { "s were" }
            ),
            Self::Unexpected(_) => "internal error".into(),
        }
    }

    /// For the command line and start-up, where errors end as one line on the terminal.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            Self::Unexpected(cause) => cause,
            other => anyhow::anyhow!(other.message()),
        }
    }

    /// The machine-readable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            // A request the server cannot read is the caller's to fix, like a bad value.
            Self::BadUserInput(_)
            | Self::MalformedRequest(_)
            | Self::UnsupportedMediaType(_)
            | Self::BodyTooLarge { .. }
            | Self::LengthRequired
            | Self::MethodNotAllowed(_) => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Unauthenticated | Self::BadCredentials => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Conflict { .. } => "CONFLICT",
            Self::TooManyAttempts => "TOO_MANY_ATTEMPTS",
            Self::Timeout(_) => "TIMEOUT",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::ErrorsLeftOut { .. } => "TOO_MANY_ERRORS",
            Self::Unexpected(_) => "INTERNAL",
        }
    }
}

impl AppError {
    /// The seconds a refused client should wait before trying again (`Retry-After`).
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The code of the errors async-graphql makes without one (the document does not
    /// parse or validate, or breaks a limit): they are all the caller's to fix.
    pub fn code_of_uncoded_errors() -> &'static str {
        Self::BadUserInput(String::new()).code()
    }

    /// The HTTP status of the error where a route answers with one (files, spreadsheets,
    /// imports, and GraphQL requests that cannot be read); GraphQL answers otherwise
    /// carry the code instead.
    pub fn http_status(&self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode;
        match self {
            Self::BadUserInput(_) | Self::MalformedRequest(_) | Self::ErrorsLeftOut { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::LengthRequired => StatusCode::LENGTH_REQUIRED,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthenticated | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyAttempts | Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error as a GraphQL request error (no path), for failures outside any field.
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let mut error = self
            .extend()
            .into_server_error(async_graphql::Pos::default());
        // It comes from no place in the document: no `locations` (not line 0, column 0).
        error.locations.clear();
        error
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Unexpected(anyhow::Error::new(error).context("database operation failed"))
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Unexpected(cause) = self {
            // The cause chain may hold SQL or paths: it goes to the log, never to the client.
            tracing::error!(error = ?cause, "internal error");
        }
        let message = self.message();
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            if let Self::Conflict {
                current_version: Some(version),
                ..
            } = self
            {
                extensions.set("currentVersion", *version);
            }
            if let Self::TooManyRequests {
                retry_after_seconds,
            } = self
            {
                extensions.set("retryAfterSeconds", *retry_after_seconds);
            }
            if let Self::ErrorsLeftOut { count } = self {
                extensions.set("leftOut", *count);
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        error.extend()
    }
}
