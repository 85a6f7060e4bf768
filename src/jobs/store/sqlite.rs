//! Job records, results and logs in an embedded SQLite file: the embedded mode's store (server
//! only).
//!
//! One connection behind a std-style mutex (`parking_lot`): writes are small (a row per state
//! change, progress at most every couple of seconds, log lines in batches), so contention stays
//! low and SQLite's WAL mode keeps readers and the writer out of each other's way.
//!
//! Every call is blocking work, so the public methods are `async` and run it on tokio's blocking
//! pool (`spawn_blocking`): no SQLite call ever runs on a runtime thread, and the mutex is only
//! ever taken there, never held across an `.await`.

use super::{NewJob, StoreError, StoredJob, MAX_LOG_LINES};
use crate::jobs::model::{owner_tag, JobId, JobState, JobView, LogLine, Progress};
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::{path::Path, sync::Arc};

/// The job database. Cheap to clone (one shared connection).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Where the database lives, for the readiness check.
    path: Arc<std::path::PathBuf>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    label       TEXT NOT NULL,
    params      TEXT NOT NULL,
    owner       TEXT,
    shared      INTEGER NOT NULL,
    external    INTEGER NOT NULL,
    token_hash  TEXT,
    state       TEXT NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    total       INTEGER,
    unit        TEXT NOT NULL DEFAULT '',
    stage       TEXT,
    result      TEXT,
    error       TEXT,
    created_ms  INTEGER NOT NULL,
    finished_ms INTEGER,
    started_ms  INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, id);
CREATE TABLE IF NOT EXISTS job_logs (
    job_id  INTEGER NOT NULL REFERENCES jobs(id),
    seq     INTEGER NOT NULL,
    line    TEXT NOT NULL,
    at_ms   INTEGER,
    PRIMARY KEY (job_id, seq)
);
";

const COLUMNS: &str =
    "id, kind, label, params, owner, shared, external, token_hash, state, done, total, unit, stage, result, error, \
     created_ms, started_ms, finished_ms";

/// Columns added after the first release, for databases made before them: (table, column, type,
/// what to fill existing rows with).
const ADDED_COLUMNS: [(&str, &str, &str, Option<&str>); 2] = [
    // A job that got past the queue began about when it was created (the best there is to know).
    ("jobs", "started_ms", "INTEGER", Some("UPDATE jobs SET started_ms = created_ms WHERE state != 'queued'")),
    ("job_logs", "at_ms", "INTEGER", None),
];

/// Adds the [`ADDED_COLUMNS`] a database lacks.
fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, kind, fill) in ADDED_COLUMNS {
        let present =
            conn.prepare(&format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"))?.exists([column])?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
            if let Some(fill) = fill {
                conn.execute_batch(fill)?;
            }
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, in WAL mode.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = Arc::new(path.to_path_buf());
        let file = path.clone();
        let conn = blocking(move || {
            let conn = Connection::open(&*file)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute_batch(SCHEMA)?;
            add_missing_columns(&conn)?;
            Ok(conn)
        })
        .await?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        blocking(move || work(&mut conn.lock())).await
    }

    /// Whether the database on disk answers (for readiness checks). It opens the file afresh,
    /// read-only, and reads the jobs table: the server's own connection would go on answering
    /// from its cache, or write to a file already deleted (lost at the next restart).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let path = self.path.clone();
        blocking(move || {
            let conn = Connection::open_with_flags(&*path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            conn.query_row("SELECT count(*) FROM jobs", [], |_| Ok(()))
        })
        .await
    }

    /// After a restart: whatever was queued or running did not finish.
    pub async fn mark_unfinished_interrupted(&self, now_ms: i64) -> Result<usize, StoreError> {
        self.with(move |conn| {
            conn.execute(
                "UPDATE jobs SET state = 'interrupted', finished_ms = ?1,
                     error = COALESCE(error, 'the server stopped while this job was unfinished')
                 WHERE state IN ('queued', 'running')",
                params![now_ms],
            )
        })
        .await
    }

    pub async fn insert(&self, job: NewJob) -> Result<JobId, StoreError> {
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO jobs
                     (kind, label, params, owner, shared, external, token_hash, state, done, total, unit, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    job.kind,
                    job.label,
                    job.params.to_string(),
                    job.owner,
                    job.shared,
                    job.external,
                    job.token_hash,
                    job.state.as_str(),
                    job.progress.done as i64,
                    job.progress.total.map(|t| t as i64),
                    job.progress.unit,
                    job.created_ms,
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    pub async fn update(&self, view: JobView) -> Result<(), StoreError> {
        self.with(move |conn| {
            conn.execute(
                "UPDATE jobs SET state = ?2, done = ?3, total = ?4, unit = ?5, stage = ?6, result = ?7, error = ?8,
                     finished_ms = ?9, started_ms = ?10
                 WHERE id = ?1",
                params![
                    view.id,
                    view.state.as_str(),
                    view.progress.done as i64,
                    view.progress.total.map(|t| t as i64),
                    view.progress.unit,
                    view.stage,
                    view.result,
                    view.error,
                    view.finished_ms,
                    view.started_ms,
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Appends log lines, keeping the newest [`MAX_LOG_LINES`] of the job.
    pub async fn append_logs(&self, id: JobId, lines: Vec<LogLine>) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let next: i64 =
                tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM job_logs WHERE job_id = ?1", [id], |r| r.get(0))?;
            {
                let mut insert =
                    tx.prepare_cached("INSERT INTO job_logs (job_id, seq, line, at_ms) VALUES (?1, ?2, ?3, ?4)")?;
                for (offset, line) in lines.iter().enumerate() {
                    insert.execute(params![id, next + 1 + offset as i64, line.text, line.at_ms])?;
                }
            }
            tx.execute(
                "DELETE FROM job_logs WHERE job_id = ?1 AND seq <= ?2",
                params![id, next + lines.len() as i64 - MAX_LOG_LINES],
            )?;
            tx.commit()
        })
        .await
    }

    /// The newest `limit` log lines of a job, oldest first.
    pub async fn logs(&self, id: JobId, limit: usize) -> Result<Vec<LogLine>, StoreError> {
        self.with(move |conn| {
            let mut query = conn.prepare_cached(
                "SELECT line, at_ms FROM
                     (SELECT seq, line, at_ms FROM job_logs WHERE job_id = ?1 ORDER BY seq DESC LIMIT ?2)
                 ORDER BY seq",
            )?;
            let lines = query
                .query_map(params![id, limit as i64], |r| Ok(LogLine { text: r.get(0)?, at_ms: r.get(1)? }))?
                .collect::<Result<_, _>>()?;
            Ok(lines)
        })
        .await
    }

    pub async fn get(&self, id: JobId) -> Result<Option<StoredJob>, StoreError> {
        self.with(move |conn| {
            conn.query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), [id], stored_job).optional()
        })
        .await
    }

    /// Jobs `owner` may see (its own and shared ones), newest first.
    pub async fn list_visible(&self, owner: String, limit: usize) -> Result<Vec<StoredJob>, StoreError> {
        self.with(move |conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE owner = ?1 OR shared = 1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let jobs = query.query_map(params![owner, limit as i64], stored_job)?.collect::<Result<_, _>>()?;
            Ok(jobs)
        })
        .await
    }
}

/// Runs blocking SQLite work off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(err) => Err(StoreError::Task(err.to_string())),
    }
}

fn stored_job(row: &Row<'_>) -> rusqlite::Result<StoredJob> {
    let state: String = row.get("state")?;
    let params: String = row.get("params")?;
    let owner: Option<String> = row.get("owner")?;
    let params = serde_json::from_str(&params).unwrap_or(serde_json::Value::Null);
    Ok(StoredJob {
        view: JobView {
            id: row.get("id")?,
            kind: row.get("kind")?,
            label: row.get("label")?,
            state: JobState::parse(&state).unwrap_or(JobState::Interrupted),
            progress: Progress {
                done: row.get::<_, i64>("done")?.max(0) as u64,
                total: row.get::<_, Option<i64>>("total")?.map(|t| t.max(0) as u64),
                unit: row.get("unit")?,
                per_second: None,
                eta_secs: None,
            },
            stage: row.get("stage")?,
            result: row.get("result")?,
            error: row.get("error")?,
            shared: row.get("shared")?,
            external: row.get("external")?,
            created_ms: row.get("created_ms")?,
            started_ms: row.get("started_ms")?,
            finished_ms: row.get("finished_ms")?,
            params: params.clone(),
            owner_tag: owner.as_deref().map(owner_tag),
        },
        owner,
        params,
        token_hash: row.get("token_hash")?,
        reported_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_job(owner: Option<&str>, shared: bool, params: &serde_json::Value) -> NewJob {
        NewJob {
            kind: "primes".into(),
            label: "Primes".into(),
            params: params.clone(),
            owner: owner.map(str::to_string),
            shared,
            external: false,
            token_hash: None,
            progress: Progress::default(),
            state: JobState::Queued,
            created_ms: 1,
        }
    }

    #[tokio::test]
    async fn records_survive_reopening_and_unfinished_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let params = serde_json::json!({"limit": 100});
        let id = {
            let store = SqliteStore::open(&path).await.unwrap();
            let id = store.insert(new_job(Some("me"), false, &params)).await.unwrap();
            let mut view = store.get(id).await.unwrap().unwrap().view;
            view.state = JobState::Running;
            view.progress = Progress { done: 40, total: Some(100), unit: "numbers".into(), ..Default::default() };
            store.update(view).await.unwrap();
            store.append_logs(id, vec![LogLine::at(10, "one"), LogLine::at(11, "two")]).await.unwrap();
            id
        };
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.mark_unfinished_interrupted(5).await.unwrap(), 1);
        let job = store.get(id).await.unwrap().unwrap();
        assert_eq!(job.view.state, JobState::Interrupted);
        assert_eq!(job.view.progress.done, 40);
        assert_eq!(job.params, params);
        assert_eq!(store.logs(id, 10).await.unwrap(), [LogLine::at(10, "one"), LogLine::at(11, "two")]);
        assert_eq!(job.view.params, params, "the view carries its parameters");
    }

    #[tokio::test]
    async fn a_database_from_before_start_and_log_times_opens_with_them_added() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        {
            // The schema as first released: no `started_ms`, no `at_ms`.
            let old = SCHEMA.replace(",\n    started_ms  INTEGER", "").replace("    at_ms   INTEGER,\n", "");
            assert!(!old.contains("started_ms") && !old.contains("at_ms"));
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&old).unwrap();
            conn.execute_batch(
                "INSERT INTO jobs (kind, label, params, shared, external, state, created_ms)
                     VALUES ('primes', 'Primes', '{}', 0, 0, 'succeeded', 5), ('primes', 'Primes', '{}', 0, 0, 'queued', 6);
                 INSERT INTO job_logs (job_id, seq, line) VALUES (1, 1, 'old line');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.get(1).await.unwrap().unwrap().view.started_ms, Some(5));
        assert_eq!(store.get(2).await.unwrap().unwrap().view.started_ms, None, "a queued job has not started");
        assert_eq!(store.logs(1, 10).await.unwrap(), [LogLine { at_ms: None, text: "old line".into() }]);
        let mut view = store.get(2).await.unwrap().unwrap().view;
        view.started_ms = Some(9);
        store.update(view).await.unwrap();
        assert_eq!(store.get(2).await.unwrap().unwrap().view.started_ms, Some(9));
        drop(store);
        // Opening it again changes nothing.
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.get(2).await.unwrap().unwrap().view.started_ms, Some(9));
    }

    #[tokio::test]
    async fn wal_mode_and_ping() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("jobs.sqlite3")).await.unwrap();
        store.ping().await.unwrap();
        let mode: String = store.with(|conn| conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))).await.unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn visibility_is_own_or_shared() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("jobs.sqlite3")).await.unwrap();
        let params = serde_json::json!({});
        let mine = store.insert(new_job(Some("me"), false, &params)).await.unwrap();
        let theirs = store.insert(new_job(Some("them"), false, &params)).await.unwrap();
        let shared = store.insert(new_job(Some("them"), true, &params)).await.unwrap();
        let visible = store.list_visible("me".into(), 10).await.unwrap();
        let ids: Vec<JobId> = visible.iter().map(|j| j.view.id).collect();
        assert_eq!(ids, [shared, mine]);
        assert!(!ids.contains(&theirs));
    }

    #[tokio::test]
    async fn logs_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("jobs.sqlite3")).await.unwrap();
        let params = serde_json::json!({});
        let id = store.insert(new_job(None, true, &params)).await.unwrap();
        let lines: Vec<LogLine> = (0..MAX_LOG_LINES + 10).map(|n| LogLine::at(n, n.to_string())).collect();
        store.append_logs(id, lines).await.unwrap();
        let kept = store.logs(id, usize::MAX >> 1).await.unwrap();
        assert_eq!(kept.len() as i64, MAX_LOG_LINES);
        assert_eq!(kept.last().unwrap().text, (MAX_LOG_LINES + 9).to_string());
    }
}
