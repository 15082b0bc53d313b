//! The one application error type, and its single mapping to GraphQL errors.

use async_graphql::{Enum, ErrorExtensions, resolver_utils::EnumType};

/// Every code an error can carry in `extensions.code`. The schema prints this enum so that
/// clients can branch on the codes with their generated types; `AppError::code` returns
/// it, so the server cannot send a code that is not here.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// A value or the request itself is wrong: a field out of range, an id that is not an
    /// id, a document that does not parse or validate, a request body the server cannot
    /// read. `extensions.field` names the input field (`input.value`) when one is to blame.
    BadUserInput,
    /// A sign-in failed: the username, the password or the account is not right. It does
    /// not say which.
    InvalidCredentials,
    /// The request has no token, or its token is invalid, expired or revoked: sign in again.
    Unauthenticated,
    /// The caller's role may never do this, whatever the item (a department approving).
    Forbidden,
    /// Nothing with this id, or nothing the caller may see.
    NotFound,
    /// The item changed since the caller read it: `extensions.currentVersion` is its
    /// version now; reload it and try again.
    StaleVersion,
    /// The item is in a state that does not allow this (approving a rejected item,
    /// changing a submitted one, closing a closed period): `extensions.state` says which,
    /// and `extensions.currentVersion` is a locked submission's version.
    InvalidState,
    /// There is already such an item (a draft for the same period, a username):
    /// `extensions.existingId` is its global id.
    AlreadyExists,
    /// Too many failed sign-ins for this username: it is locked for
    /// `extensions.retryAfterSeconds`.
    TooManyAttempts,
    /// The server refuses requests for a while (too many sign-ins from one address, or
    /// the sign-in queue is full): retry after `extensions.retryAfterSeconds`.
    TooManyRequests,
    /// Stands last in an answer whose errors were cut short: `extensions.leftOut` is how
    /// many more there were.
    TooManyErrors,
    /// The server holds no document for the hash the request sent
    /// (`extensions.persistedQuery.sha256Hash`): send it again with its `query`.
    PersistedQueryNotFound,
    /// The operation ran past its time limit.
    Timeout,
    /// Something failed inside the server; the message says nothing of the cause, the log
    /// (by `extensions.requestId`) does.
    Internal,
}

impl ErrorCode {
    /// The code as clients see it (`STALE_VERSION`), the name the schema gives the value.
    pub fn as_str(self) -> &'static str {
        Self::items()
            .iter()
            .find(|item| item.value == self)
            .map(|item| item.name)
            .unwrap_or("INTERNAL")
    }
}

/// Everything a service can refuse or fail with. Clients match on the code in
/// `extensions.code`; the message is for people.
///
/// It deliberately has no `Display`: async-graphql converts anything displayable into an
/// error without a code, so the only way out to a client is `extend`, below.
#[derive(Debug)]
pub enum AppError {
    /// A wrong value; `field` is the input path to blame (`input.value`), when known.
    BadUserInput {
        message: String,
        field: Option<String>,
    },
    NotFound(String),
    Unauthenticated,
    BadCredentials,
    Forbidden(String),
    /// The change was made against a version that is no longer the item's.
    StaleVersion {
        current_version: i32,
    },
    /// The item's state (`SUBMITTED`, `CLOSED`, …) does not allow the change;
    /// `current_version` is the item's version, for a versioned item.
    InvalidState {
        message: String,
        state: String,
        current_version: Option<i32>,
    },
    /// Such an item exists already; `existing_id` is its global id.
    AlreadyExists {
        message: String,
        existing_id: String,
        current_version: Option<i32>,
    },
    /// The username is locked after too many failed sign-ins, for this many seconds more.
    TooManyAttempts {
        retry_after_seconds: u64,
    },
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
    /// A request sent the hash of a persisted document the server does not hold.
    PersistedQueryNotFound,
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
        Self::BadUserInput {
            message: message.into(),
            field: None,
        }
    }

    /// A wrong value of the input field at `field` (`input.value`, `reason`).
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// Blames the input field at `field` for a wrong value that does not name one yet;
    /// other errors pass unchanged.
    pub fn in_field(self, at: &str) -> Self {
        match self {
            Self::BadUserInput {
                message,
                field: None,
            } => Self::bad_field(at, message),
            other => other,
        }
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
            Self::BadUserInput { message, .. }
            | Self::NotFound(message)
            | Self::Forbidden(message)
            | Self::MalformedRequest(message)
            | Self::UnsupportedMediaType(message)
            | Self::MethodNotAllowed(message) => message.clone(),
            Self::InvalidState { message, .. } | Self::AlreadyExists { message, .. } => {
                message.clone()
            }
            Self::StaleVersion { current_version } => format!(
                "the item has changed since you read it: reload it (current version {current_version}) and try again"
            ),
            Self::Unauthenticated => "sign in first: this operation needs a valid token".into(),
            Self::BadCredentials => "the username or the password is wrong".into(),
            Self::TooManyAttempts {
                retry_after_seconds,
            } => format!(
                "too many failed sign-in attempts for this username; try again in {retry_after_seconds} s"
            ),
            Self::Timeout(message) => message.clone(),
            Self::TooManyRequests {
                retry_after_seconds,
            } => format!("too many requests; try again in {retry_after_seconds} s"),
            Self::BodyTooLarge { length, limit } => {
                format!("the request body is {length} bytes; the limit is {limit} bytes")
            }
            Self::LengthRequired => "send the request body with a Content-Length".into(),
            // The words Apollo's clients look for.
            Self::PersistedQueryNotFound => "PersistedQueryNotFound".into(),
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
        self.error_code().as_str()
    }

    /// The code as the schema's `ErrorCode` value.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            // A request the server cannot read is the caller's to fix, like a bad value.
            Self::BadUserInput { .. }
            | Self::MalformedRequest(_)
            | Self::UnsupportedMediaType(_)
            | Self::BodyTooLarge { .. }
            | Self::LengthRequired
            | Self::MethodNotAllowed(_) => ErrorCode::BadUserInput,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::BadCredentials => ErrorCode::InvalidCredentials,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::StaleVersion { .. } => ErrorCode::StaleVersion,
            Self::InvalidState { .. } => ErrorCode::InvalidState,
            Self::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Self::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            Self::Timeout(_) => ErrorCode::Timeout,
            Self::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            Self::ErrorsLeftOut { .. } => ErrorCode::TooManyErrors,
            Self::PersistedQueryNotFound => ErrorCode::PersistedQueryNotFound,
            Self::Unexpected(_) => ErrorCode::Internal,
        }
    }
}

impl AppError {
    /// The seconds a refused client should wait before trying again (`Retry-After`).
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests {
                retry_after_seconds,
            }
            | Self::TooManyAttempts {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The code of the errors async-graphql makes without one (the document does not
    /// parse or validate, or breaks a limit): they are all the caller's to fix.
    pub fn code_of_uncoded_errors() -> &'static str {
        ErrorCode::BadUserInput.as_str()
    }

    /// The HTTP status of the error where a route answers with one (files, spreadsheets,
    /// imports, and GraphQL requests that cannot be read); GraphQL answers otherwise
    /// carry the code instead.
    pub fn http_status(&self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode;
        match self {
            Self::BadUserInput { .. } | Self::MalformedRequest(_) | Self::ErrorsLeftOut { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::LengthRequired => StatusCode::LENGTH_REQUIRED,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthenticated | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::StaleVersion { .. } | Self::InvalidState { .. } | Self::AlreadyExists { .. } => {
                StatusCode::CONFLICT
            }
            Self::TooManyAttempts { .. } | Self::TooManyRequests { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            // Part of the protocol, not a failure: the client sends the document next.
            Self::PersistedQueryNotFound => StatusCode::OK,
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
            match self {
                Self::BadUserInput {
                    field: Some(field), ..
                } => extensions.set("field", field.as_str()),
                Self::StaleVersion { current_version } => {
                    extensions.set("currentVersion", *current_version)
                }
                Self::InvalidState { state, .. } => extensions.set("state", state.as_str()),
                Self::AlreadyExists { existing_id, .. } => {
                    extensions.set("existingId", existing_id.as_str())
                }
                Self::ErrorsLeftOut { count } => extensions.set("leftOut", *count),
                _ => {}
            }
            if let Self::InvalidState {
                current_version: Some(version),
                ..
            }
            | Self::AlreadyExists {
                current_version: Some(version),
                ..
            } = self
            {
                extensions.set("currentVersion", *version);
            }
            if let Some(seconds) = self.retry_after_seconds() {
                extensions.set("retryAfterSeconds", seconds);
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        error.extend()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// One error of every kind, as the server makes them.
    fn every_kind() -> Vec<AppError> {
        vec![
            AppError::bad_input("x"),
            AppError::bad_field("input.value", "x"),
            AppError::not_found("x"),
            AppError::Unauthenticated,
            AppError::BadCredentials,
            AppError::forbidden("x"),
            AppError::StaleVersion { current_version: 2 },
            AppError::InvalidState {
                message: "x".into(),
                state: "SUBMITTED".into(),
                current_version: Some(2),
            },
            AppError::AlreadyExists {
                message: "x".into(),
                existing_id: "id".into(),
                current_version: None,
            },
            AppError::TooManyAttempts {
                retry_after_seconds: 1,
            },
            AppError::Timeout("x".into()),
            AppError::TooManyRequests {
                retry_after_seconds: 1,
            },
            AppError::MalformedRequest("x".into()),
            AppError::UnsupportedMediaType("x".into()),
            AppError::BodyTooLarge {
                length: 2,
                limit: 1,
            },
            AppError::LengthRequired,
            AppError::MethodNotAllowed("x".into()),
            AppError::ErrorsLeftOut { count: 1 },
            AppError::PersistedQueryNotFound,
            AppError::Unexpected(anyhow::anyhow!("x")),
        ]
    }

    #[test]
    fn every_code_sent_is_a_value_of_the_enum_and_every_value_is_sent() {
        let names: BTreeSet<&str> = ErrorCode::items().iter().map(|item| item.name).collect();
        let sent: BTreeSet<&str> = every_kind().iter().map(AppError::code).collect();
        assert_eq!(sent, names);
        let uncoded = AppError::code_of_uncoded_errors();
        assert!(names.contains(uncoded), "{uncoded}");
    }

    #[test]
    fn codes_are_the_names_the_schema_prints() {
        assert_eq!(ErrorCode::StaleVersion.as_str(), "STALE_VERSION");
        assert_eq!(
            ErrorCode::InvalidCredentials.as_str(),
            "INVALID_CREDENTIALS"
        );
        assert_eq!(ErrorCode::BadUserInput.as_str(), "BAD_USER_INPUT");
    }
}
