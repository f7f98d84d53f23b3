//! Opening the store a `--database-url` names: the in-memory one, or a
//! SQLite or PostgreSQL database, connected, migrated and, when new, seeded
//! with the book's sample orders.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::{AnyPool, Executor};

use super::{CachedStore, Dialect, MemoryStore, OrderStore, SqlStore, sample_orders};

/// How long a call waits for a database connection before it fails with UNAVAILABLE.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The URL that keeps orders in memory, for tests and demos.
pub const MEMORY: &str = "memory:";

/// The schema, version by version, for each kind of database
/// (`backend/migrations/`, compiled in); applied at start, each once, in a
/// transaction.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Why the store could not be opened. Each message names the database by
/// its URL, without its password.
#[expect(missing_docs, reason = "each variant's #[error] message says what it is")]
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{url} is not a database URL this server knows: use sqlite://PATH, postgres://USER@HOST/DB or memory:")]
    UnknownKind { url: String },
    #[error("cannot create the data directory {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
    #[error(
        "the database {url} is in use by another ordermgt-server (it holds {lock}); a SQLite database has one \
         server at a time: stop the other, or give this one its own --data-dir (PostgreSQL is for several)"
    )]
    InUse { url: String, lock: String },
    #[error("cannot lock the database {url} with {lock}: {source}")]
    Lock { url: String, lock: String, source: std::io::Error },
    #[error("cannot connect to the database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error(
        "the database {url} was migrated by a newer ordermgt (it has schema version {found}; this build knows up to \
         {known}); refusing to start rather than risk it: run the newer server, or point --database-url elsewhere"
    )]
    TooNew { url: String, found: i64, known: i64 },
    #[error("cannot migrate the database {url}: {reason}")]
    Migrate { url: String, reason: String },
    #[error("cannot seed the new database {url}: {reason}")]
    Seed { url: String, reason: String },
}

/// The store `url` names. A SQLite database is this server's alone while it
/// runs (an exclusive lock on `<file>.lock`), so its reads are cached in up
/// to `cache_bytes`; PostgreSQL, which replicas share, is read afresh each time.
pub async fn open(url: &str, cache_bytes: u64) -> Result<Arc<dyn OrderStore>, OpenError> {
    if url == MEMORY {
        return Ok(Arc::new(MemoryStore::with_orders(sample_orders())));
    }
    let store = open_sql(url).await?;
    if store.is_exclusive() && cache_bytes > 0 {
        return Ok(Arc::new(CachedStore::new(store, cache_bytes)));
    }
    Ok(Arc::new(store))
}

/// Takes the exclusive lock of the SQLite database at `file`: released when
/// the returned file is closed, or the process ends however it ends.
fn lock(file: &Path, url: &str) -> Result<std::fs::File, OpenError> {
    create_parent_dir(file)?;
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    let path = std::path::PathBuf::from(name);
    let shown = path.display().to_string();
    let opened = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path);
    let lock = opened.map_err(|source| OpenError::Lock { url: redact(url), lock: shown.clone(), source })?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::InUse { url: redact(url), lock: shown }),
        Err(std::fs::TryLockError::Error(source)) => Err(OpenError::Lock { url: redact(url), lock: shown, source }),
    }
}

/// The file of a `sqlite:` URL; `None` for other kinds and in-memory SQLite.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || options.split('&').any(|option| option == "mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// The SQL store `url` names (`sqlite:` or `postgres:`), connected and
/// migrated; a SQLite file is locked for this process first.
pub async fn open_sql(url: &str) -> Result<SqlStore, OpenError> {
    let shown = redact(url);
    let (migrations, dialect) = if url.starts_with("sqlite:") {
        (&SQLITE_MIGRATIONS, Dialect::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        (&POSTGRES_MIGRATIONS, Dialect::Postgres)
    } else {
        return Err(OpenError::UnknownKind { url: shown });
    };
    let lock = match sqlite_file(url) {
        Some(file) => Some(lock(&file, url)?),
        None => None,
    };
    sqlx::any::install_default_drivers();
    let sqlite = dialect == Dialect::Sqlite;
    let connect = |error: sqlx::Error| OpenError::Connect { url: shown.clone(), reason: error.to_string() };
    let pool = AnyPoolOptions::new()
        .max_connections(if sqlite { 4 } else { 16 })
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if sqlite {
                    // WAL: readers never wait for the writer; an acknowledged commit is in the log
                    // file, so it survives the process being killed (NORMAL syncs at checkpoints).
                    connection
                        .execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
                        .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(connect)?;
    let new = migrate(&pool, migrations, &shown).await?;
    let store = SqlStore::new(pool, dialect, lock);
    if new {
        // The book's sample orders, into a new database only.
        let seeded = store.insert_missing(sample_orders()).await;
        seeded.map_err(|error| OpenError::Seed { url: shown.clone(), reason: error.to_string() })?;
    }
    let filled = store.backfill_search_text().await;
    let filled = filled.map_err(|error| OpenError::Migrate { url: shown.clone(), reason: error.to_string() })?;
    if filled > 0 {
        tracing::info!(database = %shown, "filled in the search text of {filled} orders stored by an older server");
    }
    Ok(store)
}

/// Applies what is missing of `migrations`; whether the database was new.
async fn migrate(pool: &AnyPool, migrator: &'static Migrator, url: &str) -> Result<bool, OpenError> {
    let failed = |error: MigrateError| OpenError::Migrate { url: url.to_string(), reason: error.to_string() };
    let mut connection =
        pool.acquire().await.map_err(|error| OpenError::Connect { url: url.to_string(), reason: error.to_string() })?;
    connection.ensure_migrations_table().await.map_err(failed)?;
    let applied = connection.list_applied_migrations().await.map_err(failed)?;
    drop(connection);
    migrator.run(pool).await.map_err(|error| match error {
        // sqlx refuses, before it applies anything, a database holding a
        // migration this build does not know: a newer ordermgt's.
        MigrateError::VersionMissing(_) => OpenError::TooNew {
            url: url.to_string(),
            found: applied.iter().map(|migration| migration.version).max().unwrap_or(0),
            known: migrator.iter().map(|migration| migration.version).max().unwrap_or(0),
        },
        error => failed(error),
    })?;
    Ok(applied.is_empty())
}

fn create_parent_dir(file: &Path) -> Result<(), OpenError> {
    match file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::DataDir { dir: dir.display().to_string(), source })
        }
        None => Ok(()),
    }
}

/// `url` with its password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => match parsed.set_password(Some("***")) {
            Ok(()) => parsed.into(),
            Err(()) => "(a URL with a password)".to_string(),
        },
        Ok(_) => url.to_string(),
        // Not a URL (so no database opens it either): what could be credentials stays out.
        Err(_) => url.rsplit_once('@').map_or_else(|| url.to_string(), |(_, host)| format!("***@{host}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redact("postgres://shop:s3cret@db.example:5432/orders"),
            "postgres://shop:***@db.example:5432/orders"
        );
        assert_eq!(redact("postgres://shop@db.example/orders"), "postgres://shop@db.example/orders");
        assert_eq!(redact("sqlite:///var/lib/ordermgt/orders.db"), "sqlite:///var/lib/ordermgt/orders.db");
        assert_eq!(redact("postgres://a:b@h/db?x=@"), "postgres://a:***@h/db?x=@");
        assert_eq!(redact("postgres://a:b@c@h/db"), "postgres://a:***@h/db");
        assert_eq!(redact("postgres://a:b@h:port/db"), "***@h:port/db");
    }

    #[tokio::test]
    async fn an_unknown_kind_of_url_is_refused_by_name() {
        let error = open("mysql://root@localhost/shop", 0).await.expect_err("refused").to_string();
        assert!(error.contains("mysql://root@localhost/shop") && error.contains("sqlite://"), "{error}");
    }
}
