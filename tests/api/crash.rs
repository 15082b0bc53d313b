//! Evidence files survive crashes: whenever the process dies, no stored file lacks its
//! row and no row lacks its file; what a crash leaves half-done is settled by the sweep.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ecoplan::entity::{department, evidence};
use ecoplan::service::audit::Caller;
use ecoplan::service::policy::Role;
use ecoplan::service::user::{NewUser, create_user};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, Store, TestApp, TestDatabase, both, data, new_bucket, stores};
use crate::steps::{UPLOAD, draft_evidence, pdf};

/// `ecoplan serve` as a child process; killed (SIGKILL) when dropped.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) port: u16,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where the killed server keeps its files: a folder, or a bucket of the test S3 server.
pub(crate) enum Storage {
    Folder(tempfile::TempDir),
    Bucket {
        url: String,
        reached: ecoplan::storage::ObjectStoreSettings,
    },
}

impl Storage {
    pub(crate) async fn new(store: Store) -> Self {
        match store {
            Store::Folder => Storage::Folder(tempfile::tempdir().unwrap()),
            Store::Objects => {
                let (url, reached) = new_bucket().await;
                Storage::Bucket { url, reached }
            }
        }
    }

    /// The settings that point `ecoplan serve` at this storage.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Storage::Folder(folder) => vec![(
                "ECOPLAN_STORAGE_DIR",
                folder.path().to_string_lossy().into_owned(),
            )],
            Storage::Bucket { url, reached } => vec![
                ("ECOPLAN_STORAGE_URL", url.clone()),
                ("AWS_ENDPOINT_URL", reached.endpoint.clone().unwrap()),
                ("AWS_REGION", reached.region.clone().unwrap()),
                ("AWS_ACCESS_KEY_ID", reached.access_key_id.clone().unwrap()),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    reached.secret_access_key.clone().unwrap(),
                ),
                ("AWS_ALLOW_HTTP", "true".to_owned()),
            ],
        }
    }

    /// Every file kept, as its place below the root (`ab/abcdef…`, `pending/…`) and size.
    async fn files(&self) -> Vec<(PathBuf, u64)> {
        match self {
            Storage::Folder(folder) => files_under(folder.path())
                .into_iter()
                .map(|file| {
                    let size = std::fs::metadata(&file).unwrap().len();
                    (
                        file.strip_prefix(folder.path()).unwrap().to_path_buf(),
                        size,
                    )
                })
                .collect(),
            Storage::Bucket { url, reached } => {
                use futures_util::StreamExt;
                use object_store::ObjectStore;
                let rest = url.strip_prefix("s3://").unwrap();
                let (bucket, prefix) = rest.split_once('/').unwrap();
                let store = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_endpoint(reached.endpoint.clone().unwrap())
                    .with_region("us-east-1")
                    .with_access_key_id("testing")
                    .with_secret_access_key("testing")
                    .with_allow_http(true)
                    .build()
                    .unwrap();
                let prefix = object_store::path::Path::from(prefix);
                let mut listed = store.list(Some(&prefix));
                let mut found = Vec::new();
                while let Some(object) = listed.next().await {
                    let object = object.unwrap();
                    let place: PathBuf = object
                        .location
                        .parts()
                        .skip(1)
                        .map(|part| part.as_ref().to_owned())
                        .collect();
                    found.push((place, object.size));
                }
                found
            }
        }
    }
}

/// Starts the real binary on a database and a storage and waits until it answers.
pub(crate) async fn serve(
    database_url: &str,
    storage: &Storage,
    env: &[(&str, &str)],
) -> ServerProcess {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecoplan"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ECOPLAN_")
            || name.starts_with("AWS_")
            || name == "DATABASE_URL"
            || name == "RUST_LOG"
        {
            command.env_remove(name);
        }
    }
    command
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("ECOPLAN_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "ECOPLAN_JWT_SECRET",
            "a-test-secret-that-is-long-enough-to-use",
        )
        .env("ECOPLAN_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in storage.env() {
        command.env(name, value);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut server = ServerProcess {
        child: command.spawn().expect("the ecoplan binary runs"),
        port,
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && response.status() == 200
        {
            return server;
        }
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("ecoplan serve exited: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ecoplan serve did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every file under a folder.
fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A PDF of about `size` bytes.
fn large_pdf(size: usize) -> Vec<u8> {
    let mut bytes = pdf();
    let end = bytes.split_off(bytes.len() - "%%EOF\n".len());
    while bytes.len() < size {
        bytes.extend_from_slice(b"% padding of a scanned page\n");
    }
    bytes.extend_from_slice(&end);
    bytes
}

/// Asserts that the files in `storage` and the evidence rows match one to one: each row
/// has its stored file, of its size, and each file is the stored file of a row.
async fn assert_files_match_rows(db: &DatabaseConnection, storage: &Storage) -> usize {
    let rows: HashMap<String, i64> = evidence::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.storage_key, row.size))
        .collect();
    let files = storage.files().await;
    let mut seen = HashSet::new();
    for (relative, length) in &files {
        let key = relative.file_name().unwrap().to_string_lossy().into_owned();
        let size = rows
            .get(&key)
            .unwrap_or_else(|| panic!("{} has no evidence row", relative.display()));
        assert_eq!(
            relative,
            &Path::new(&key[..2]).join(&key),
            "{} is not a stored file",
            relative.display()
        );
        assert_eq!(*length as i64, *size);
        seen.insert(key);
    }
    for key in rows.keys() {
        assert!(seen.contains(key), "the row of {key} has no file");
    }
    rows.len()
}

async fn a_killed_server_leaves_no_file_without_its_row_and_no_row_without_its_file(
    backend: Backend,
    store: Store,
) {
    let database = TestDatabase::seeded(backend).await;
    let storage = Storage::new(store).await;
    let server = serve(&database.url, &storage, &[]).await;

    let (db, _) = ecoplan::db::connect(&database.url, 2).await.unwrap();
    let finance = department::Entity::find()
        .filter(department::Column::Code.eq("finance"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    create_user(
        &db,
        &Caller::system(),
        NewUser {
            username: "finance.clerk".into(),
            display_name: None,
            password: "a long enough password".into(),
            role: Role::Department,
            department_id: Some(finance.id),
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{}", error.message()));
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/graphql", server.port);
    let signed_in: Value = client
        .post(&url)
        .json(&json!({
            "query": "mutation { login(username: \"finance.clerk\", password: \"a long enough password\") { token } }"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = data(&signed_in)["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let task = ecoplan::entity::task::Entity::find()
        .filter(ecoplan::entity::task::Column::Code.eq("36"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let task_id = crate::helpers::global_id(ecoplan::id::NodeKind::Task, task.id);

    // A burst of uploads; the server is killed while many are in flight.
    let bytes = Arc::new(large_pdf(512 * 1024));
    let finished = Arc::new(AtomicUsize::new(0));
    let mut uploaders = Vec::new();
    for _ in 0..12 {
        let (client, url, token, task_id) =
            (client.clone(), url.clone(), token.clone(), task_id.clone());
        let (bytes, finished) = (bytes.clone(), finished.clone());
        uploaders.push(tokio::spawn(async move {
            loop {
                let operations = json!({
                    "query": UPLOAD,
                    "variables": { "input": { "taskId": task_id, "title": "現場照片" }, "file": null },
                });
                let form = reqwest::multipart::Form::new()
                    .text("operations", operations.to_string())
                    .text("map", json!({ "0": ["variables.file"] }).to_string())
                    .part(
                        "0",
                        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("現場.pdf"),
                    );
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .multipart(form)
                    .send()
                    .await;
                match sent {
                    Ok(response) => {
                        let _ = response.bytes().await;
                        finished.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    let started = Instant::now();
    while finished.load(Ordering::SeqCst) < 24 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the uploads do not get through"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(server); // SIGKILL
    for uploader in uploaders {
        let _ = tokio::time::timeout(Duration::from_secs(30), uploader).await;
    }

    // The same database and folder; files of uploads that never committed are removed
    // whatever their age.
    let restarted = serve(
        &database.url,
        &storage,
        &[("ECOPLAN_UPLOAD_GRACE_SECS", "0")],
    )
    .await;
    let rows = assert_files_match_rows(&db, &storage).await;
    assert!(rows >= 24, "{rows} uploads were recorded");

    // A file that survived is served whole.
    let any = evidence::Entity::find().one(&db).await.unwrap().unwrap();
    let id = crate::helpers::global_id(ecoplan::id::NodeKind::Evidence, any.id);
    let downloaded = client
        .get(format!("http://127.0.0.1:{}/files/{id}", restarted.port))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().len(), bytes.len());
    db.close().await.unwrap();
}
stores!(a_killed_server_leaves_no_file_without_its_row_and_no_row_without_its_file);

/// Moves a file's modification time back, as if it had been written `age` ago.
fn age_file(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

async fn the_start_up_sweep_finishes_committed_uploads_and_removes_old_orphans_only(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let kept = draft_evidence(&app, &finance, &task).await;
    let [stored] = app.stored_files().try_into().unwrap();
    let storage = stored.parent().unwrap().parent().unwrap().to_owned();
    let two_hours = Duration::from_secs(2 * 3600);

    // The row committed but the process died before the file was made stored.
    let key = stored.file_name().unwrap().to_owned();
    let pending = storage.join("pending").join(&key);
    std::fs::rename(&stored, &pending).unwrap();
    age_file(&pending, two_hours);
    // An upload that never committed, long ago; and one that may still be in flight.
    let abandoned = storage
        .join("pending")
        .join("AbandonedUpload0000000000000001");
    std::fs::write(&abandoned, b"%PDF-1.4\n").unwrap();
    age_file(&abandoned, two_hours);
    let in_flight = storage
        .join("pending")
        .join("UploadInFlight000000000000000001");
    std::fs::write(&in_flight, b"%PDF-1.4\n").unwrap();
    // The file of evidence deleted just before a crash.
    let deleted = storage.join("De").join("DeletedEvidence0000000000000001");
    std::fs::create_dir_all(deleted.parent().unwrap()).unwrap();
    std::fs::write(&deleted, b"%PDF-1.4\n").unwrap();
    age_file(&deleted, two_hours);

    app.handle.stop(true).await;
    let restarted = app.spawn_second_server().await;

    assert!(stored.exists(), "the committed upload is stored");
    assert!(!pending.exists());
    assert!(!abandoned.exists(), "the old orphan is removed");
    assert!(!deleted.exists(), "the old orphan is removed");
    assert!(in_flight.exists(), "a young pending file is left alone");
    let response = restarted
        .get(Some(&finance), &format!("/files/{}", kept.id))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), pdf());
}
both!(the_start_up_sweep_finishes_committed_uploads_and_removes_old_orphans_only);

async fn a_file_whose_row_committed_is_served_while_still_pending(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let kept = draft_evidence(&app, &finance, &task).await;
    let [stored] = app.stored_files().try_into().unwrap();
    let storage = stored.parent().unwrap().parent().unwrap().to_owned();
    let pending = storage.join("pending").join(stored.file_name().unwrap());
    std::fs::rename(&stored, &pending).unwrap();

    let response = app
        .get(Some(&finance), &format!("/files/{}", kept.id))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), pdf());
}
both!(a_file_whose_row_committed_is_served_while_still_pending);
