//! Searching a SQL store: the filter runs in the database, on each order's
//! `search_text` (its items, lowercased, one per line), so that a search for
//! a rare item reads the few orders that have it rather than the table.
//!
//! Results stream in id order, read as the client reads them:
//! - PostgreSQL pages through the matches in id order, `LIMIT` rows a query,
//!   its planner choosing between the trigram index (`pg_trgm`, for rare
//!   items) and the primary key (for common ones).
//! - SQLite first asks its trigram index (FTS5) how many orders hold every
//!   trigram of the query: up to
//!   [`FEW`], it reads them all in one query; more, and it pages through the
//!   table in id order with the filter, as the index could not give them in
//!   that order. Queries under three characters, which a trigram index cannot
//!   answer, page the same way.
//!
//! Each page sees the table as it is then: an order is streamed at most
//! once, and one that exists throughout exactly once. The database's filter
//! is checked again by [`Order::matches`], whose rules are the contract.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use super::OrderStore;
use super::sql::{COLUMNS, Dialect, SqlStore, order_from, unavailable};
use crate::domain::error::OrderError;
use crate::domain::order::Order;

/// Most rows a search reads per query.
const PAGE: i64 = 256;
/// Rows of the first query; each next one reads up to twice as many while
/// pages stay under [`PAGE_BYTES`], and fewer once they do not. Small: until
/// the first page is read, how large the orders are is not known, and a page
/// is read whole before the budget can refuse it.
const FIRST_PAGE: i64 = 4;
/// About the most bytes of orders a search holds at once: pages are sized to
/// it, so a table of megabyte orders costs a search what small ones do.
const PAGE_BYTES: usize = 1024 * 1024;
/// Orders fetched per query once the index has named the few that match.
const FEW_PER_QUERY: usize = 16;
/// Matches the SQLite index hands over at once, in one query.
const FEW: i64 = 1_000;

/// How a search reads the table.
#[derive(Debug, Clone)]
enum Filter {
    /// Every order.
    All,
    /// Orders whose search text contains this (lowercased) text.
    Containing(String),
}

/// The orders of `store` matching `query` (lowercased), in id order, a page at a time.
pub(super) fn search(store: SqlStore, query: String) -> BoxStream<'static, Result<Vec<Order>, OrderError>> {
    if query.is_empty() {
        return pages(store, Filter::All);
    }
    if store.dialect == Dialect::Sqlite && query.chars().count() >= 3 {
        return stream::once(few_or_pages(store, query)).flatten().boxed();
    }
    pages(store, Filter::Containing(query))
}

/// SQLite: the matches at once if the index finds few, else [`pages`].
async fn few_or_pages(store: SqlStore, query: String) -> BoxStream<'static, Result<Vec<Order>, OrderError>> {
    let phrase = trigrams(&query);
    let probe = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM (SELECT rowid FROM orders_search WHERE orders_search MATCH $1 LIMIT $2)",
    )
    .bind(phrase.clone())
    .bind(FEW + 1)
    .fetch_one(&store.pool)
    .await;
    match probe {
        Err(error) => stream::iter([Err(unavailable(error))]).boxed(),
        Ok(found) if found > FEW => pages(store, Filter::Containing(query)),
        Ok(_) => {
            // Their ids first (small), then the orders a few at a time: the
            // matches may be large.
            let sql = "SELECT id FROM orders WHERE rowid IN \
                       (SELECT rowid FROM orders_search WHERE orders_search MATCH $1) ORDER BY id";
            let ids = match sqlx::query_scalar::<_, String>(sql).bind(phrase).fetch_all(&store.pool).await {
                Ok(ids) => ids,
                Err(error) => return stream::iter([Err(unavailable(error))]).boxed(),
            };
            let chunks: Vec<Vec<String>> = ids.chunks(FEW_PER_QUERY).map(<[String]>::to_vec).collect();
            stream::iter(chunks)
                .then(move |chunk| {
                    let (store, query) = (store.clone(), query.clone());
                    async move {
                        let found = store.get_many(&chunk).await?;
                        let matching = found.into_iter().flatten().filter(|order| order.matches(&query));
                        Ok(matching.map(Arc::unwrap_or_clone).collect())
                    }
                })
                .boxed()
        }
    }
}

/// Keyset pages in id order, the filter applied by the database.
fn pages(store: SqlStore, filter: Filter) -> BoxStream<'static, Result<Vec<Order>, OrderError>> {
    stream::unfold(Some((String::new(), FIRST_PAGE)), move |cursor| {
        let (store, filter) = (store.clone(), filter.clone());
        async move {
            let (after, limit) = cursor?;
            match page(&store, &filter, &after, limit).await {
                Err(error) => Some((Err(error), None)),
                Ok((orders, last)) => {
                    let bytes: usize = orders.iter().map(Order::weight).sum();
                    let next = last.map(|last| (last, next_limit(limit, bytes)));
                    let found = orders
                        .into_iter()
                        .filter(|order| match &filter {
                            Filter::All => true,
                            Filter::Containing(query) => order.matches(query),
                        })
                        .collect();
                    Some((Ok(found), next))
                }
            }
        }
    })
    .boxed()
}

/// The rows of the query after one of `limit` rows that held `bytes`:
/// doubled while pages are light, cut to fit [`PAGE_BYTES`] when heavy.
fn next_limit(limit: i64, bytes: usize) -> i64 {
    let fits =
        i64::try_from(PAGE_BYTES.saturating_mul(usize::try_from(limit).unwrap_or(1)) / bytes.max(1)).unwrap_or(PAGE);
    fits.min(limit.saturating_mul(2)).clamp(1, PAGE)
}

/// One page of up to `limit` rows after `after`: its orders, and where the
/// next begins (`None` at the end).
async fn page(
    store: &SqlStore,
    filter: &Filter,
    after: &str,
    limit: i64,
) -> Result<(Vec<Order>, Option<String>), OrderError> {
    let _turn = store.bulk_read().await?;
    let rows = match filter {
        Filter::All => {
            let sql = format!("SELECT {COLUMNS} FROM orders WHERE id > $1 ORDER BY id LIMIT $2");
            sqlx::query(&sql).bind(after.to_string()).bind(limit).fetch_all(&store.pool).await
        }
        Filter::Containing(query) => {
            let (condition, needle) = match store.dialect {
                // instr: a plain substring test, no pattern characters to escape.
                Dialect::Sqlite => ("instr(search_text, $2) > 0", query.clone()),
                // LIKE, which the trigram index serves; % _ \ in the query escaped.
                Dialect::Postgres => ("search_text LIKE $2", format!("%{}%", escape_like(query))),
            };
            let sql = format!("SELECT {COLUMNS} FROM orders WHERE id > $1 AND {condition} ORDER BY id LIMIT $3");
            sqlx::query(&sql).bind(after.to_string()).bind(needle).bind(limit).fetch_all(&store.pool).await
        }
    }
    .map_err(unavailable)?;
    let orders = rows.iter().map(order_from).collect::<Result<Vec<_>, _>>()?;
    let full = usize::try_from(limit).is_ok_and(|limit| orders.len() == limit);
    let next = full.then(|| orders.last().map(|order| order.id.clone())).flatten();
    Ok((orders, next))
}

/// An FTS5 query for the orders whose text holds every trigram of `query`
/// (three characters or more): a superset of those that contain it, which
/// [`Order::matches`] then narrows. (The index keeps no positions, so it
/// cannot match the trigrams as a phrase.)
fn trigrams(query: &str) -> String {
    let chars: Vec<char> = query.chars().collect();
    let mut terms: Vec<String> = chars
        .windows(3)
        .map(|trigram| format!("\"{}\"", trigram.iter().collect::<String>().replace('"', "\"\"")))
        .collect();
    terms.dedup();
    terms.join(" AND ")
}

/// `text` for use inside a LIKE pattern whose escape character is `\`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Fills in the search text of orders written before it existed (by an
/// older server), a thousand at a time; how many there were.
pub(super) async fn backfill(store: &SqlStore) -> Result<u64, sqlx::Error> {
    let mut filled = 0;
    loop {
        // Served by the partial index orders_search_pending (migration 3): no scan.
        let sql = format!("SELECT {COLUMNS} FROM orders WHERE search_text IS NULL LIMIT 1000");
        let rows = sqlx::query(&sql).fetch_all(&store.pool).await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut transaction = store.pool.begin().await?;
        for row in &rows {
            let order = order_from(row).map_err(|error| sqlx::Error::Protocol(error.to_string()))?;
            sqlx::query("UPDATE orders SET search_text = $2 WHERE id = $1")
                .bind(order.id.clone())
                .bind(order.search_text())
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        filled += rows.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_query_names_each_trigram_quoted() {
        assert_eq!(trigrams("lamp"), r#""lam" AND "amp""#);
        assert_eq!(trigrams("a\"b\"c"), r#""a""b" AND """b""" AND "b""c""#);
        assert_eq!(trigrams("äpf"), r#""äpf""#);
    }

    #[test]
    fn pages_grow_while_light_and_shrink_to_a_megabyte_when_heavy() {
        assert_eq!(next_limit(FIRST_PAGE, 4 * 200), 8, "small orders: doubled");
        assert_eq!(next_limit(PAGE, 256 * 200), PAGE, "never past PAGE");
        assert_eq!(next_limit(16, 16 * 1024 * 1024), 1, "megabyte orders: one a query");
        assert_eq!(next_limit(64, 2 * 1024 * 1024), 32, "two megabytes in 64 rows: half as many");
        assert_eq!(next_limit(1, 0), 2);
    }

    #[test]
    fn like_patterns_match_the_query_literally() {
        assert_eq!(escape_like("50%_off\\now"), "50\\%\\_off\\\\now");
        assert_eq!(escape_like("plain"), "plain");
    }
}
