//! Relay-style cursor pagination over a unique, ordered integer key, done in SQL.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};

use crate::error::{AppError, AppResult};
use crate::id::truncate;

/// The largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 500;
/// The page size when the caller names none.
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// The pagination arguments of a connection field, as the client sent them.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// The arguments of a connection field, gathered.
pub fn page_args(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageArgs {
    PageArgs {
        first,
        after,
        last,
        before,
    }
}

/// The validated window of a connection.
#[derive(Clone, Copy, Debug)]
struct Window {
    after: Option<i64>,
    before: Option<i64>,
    first: Option<u64>,
    last: Option<u64>,
}

/// One page of rows, each with the key its cursor encodes.
pub struct Page<T> {
    pub items: Vec<(i64, T)>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    pub total_count: u64,
}

impl<T> Page<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self
                .items
                .into_iter()
                .map(|(key, item)| (key, f(item)))
                .collect(),
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            total_count: self.total_count,
        }
    }
}

pub fn encode_cursor(key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("cursor:{key}"))
}

fn decode_cursor(raw: &str) -> AppResult<i64> {
    let invalid = || AppError::bad_input(format!("`{}` is not a valid cursor", truncate(raw)));
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("cursor:")
        .and_then(|key| key.parse::<i64>().ok())
        .ok_or_else(invalid)
}

fn page_size(name: &str, value: Option<i32>, max_page_size: u64) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(AppError::bad_input(format!(
            "`{name}` must not be negative"
        ))),
        Some(n) if n as u64 > max_page_size => Err(AppError::bad_input(format!(
            "`{name}` may be at most {max_page_size}"
        ))),
        Some(n) => Ok(Some(n as u64)),
    }
}

impl PageArgs {
    fn window(&self, max_page_size: u64) -> AppResult<Window> {
        let window = Window {
            after: self.after.as_deref().map(decode_cursor).transpose()?,
            before: self.before.as_deref().map(decode_cursor).transpose()?,
            first: page_size("first", self.first, max_page_size)?,
            last: page_size("last", self.last, max_page_size)?,
        };
        if window.first.is_some() && window.last.is_some() {
            return Err(AppError::bad_input(
                "give `first` or `last`, not both: a page is read in one direction",
            ));
        }
        Ok(window)
    }

    /// Checks the arguments without reading anything, so bad input fails before any SQL.
    pub fn validate(&self, max_page_size: u64) -> AppResult<()> {
        self.window(max_page_size).map(|_| ())
    }
}

/// Reads one page of `select`, ordered by `key` (which must be unique within `select`),
/// and counts the whole filtered set for `totalCount`.
pub async fn paginate<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    key: C,
    key_of: impl Fn(&E::Model) -> i64,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ColumnTrait,
{
    let window = args.window(max_page_size)?;
    let total_count = select.clone().count(db).await?;

    let mut query = select;
    if let Some(after) = window.after {
        query = query.filter(key.gt(after));
    }
    if let Some(before) = window.before {
        query = query.filter(key.lt(before));
    }

    let (items, has_previous_page, has_next_page) = if let Some(last) = window.last {
        let mut rows = query.order_by_desc(key).limit(last + 1).all(db).await?;
        let has_previous = rows.len() as u64 > last;
        rows.truncate(last as usize);
        rows.reverse();
        (rows, has_previous, window.before.is_some())
    } else {
        let first = window.first.unwrap_or(DEFAULT_PAGE_SIZE.min(max_page_size));
        let mut rows = query.order_by_asc(key).limit(first + 1).all(db).await?;
        let has_next = rows.len() as u64 > first;
        rows.truncate(first as usize);
        (rows, window.after.is_some(), has_next)
    };

    Ok(Page {
        items: items.into_iter().map(|row| (key_of(&row), row)).collect(),
        has_previous_page,
        has_next_page,
        total_count,
    })
}

/// One page of items already in memory, in ascending order of their unique `key`, with
/// the same cursors and rules as [`paginate`].
pub fn paginate_in_memory<T>(
    items: Vec<(i64, T)>,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<T>> {
    let window = args.window(max_page_size)?;
    let total_count = items.len() as u64;
    let mut in_window: Vec<(i64, T)> = items
        .into_iter()
        .filter(|(key, _)| window.after.is_none_or(|after| *key > after))
        .filter(|(key, _)| window.before.is_none_or(|before| *key < before))
        .collect();
    let (has_previous_page, has_next_page) = if let Some(last) = window.last {
        let has_previous = in_window.len() as u64 > last;
        let skip = in_window.len().saturating_sub(last as usize);
        in_window.drain(..skip);
        (has_previous, window.before.is_some())
    } else {
        let first = window.first.unwrap_or(DEFAULT_PAGE_SIZE.min(max_page_size));
        let has_next = in_window.len() as u64 > first;
        in_window.truncate(first as usize);
        (window.after.is_some(), has_next)
    };
    Ok(Page {
        items: in_window,
        has_previous_page,
        has_next_page,
        total_count,
    })
}
