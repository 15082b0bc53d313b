//! Starts the real server on a fresh database, and talks to it over HTTP as a client would.
//!
//! SQLite tests get a new file in a temporary folder. PostgreSQL tests get a new database
//! cloned from a template that is migrated and seeded once (`CREATE DATABASE … TEMPLATE`),
//! and dropped when the test ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ecoplan::db::StatementCounter;
use ecoplan::entity::{department, indicator, task, user};
use ecoplan::id::{NodeId, NodeKind};
use ecoplan::service::audit::Caller;
use ecoplan::service::auth::random_secret;
use ecoplan::service::policy::Role;
use ecoplan::service::seed::{TANGSHAN_2022, seed_plan};
use ecoplan::service::user::{NewUser, create_user};
use ecoplan::settings::Settings;
use ecoplan::startup::Application;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, PaginatorTrait, QueryFilter, Statement,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Names the PostgreSQL server the tests may create databases on, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// Runs a test written once as `async fn name(backend: Backend)` on SQLite and on
/// PostgreSQL: `both!(name);` makes `name::sqlite` and `name::postgres`.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_url().is_some() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            }
        }
    };
}
pub(crate) use both;

/// Where a test's server keeps evidence files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// A folder of the test's own (the default).
    Folder,
    /// A bucket of the test's own on the S3-protocol server at `TEST_S3_ENDPOINT`.
    Objects,
}

/// Names the S3-protocol server the object-store tests create buckets on, e.g.
/// `http://127.0.0.1:9000` (`.ci/run` starts moto's server and sets it).
pub const TEST_S3_ENDPOINT: &str = "TEST_S3_ENDPOINT";

/// Runs a test written once as `async fn name(backend: Backend, store: Store)` on SQLite
/// and on PostgreSQL with the folder, and on PostgreSQL with an object store (how a city
/// runs several instances): `stores!(name)` makes `name::sqlite`, `name::postgres` and
/// `name::postgres_object_store`.
macro_rules! stores {
    ($name:ident) => {
        mod $name {
            use $crate::helpers::{Backend, Store};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite, Store::Folder).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_url().is_some() {
                    super::$name(Backend::Postgres, Store::Folder).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_object_store() {
                if $crate::helpers::postgres_url().is_some()
                    && $crate::helpers::s3_endpoint().is_some()
                {
                    super::$name(Backend::Postgres, Store::Objects).await;
                }
            }
        }
    };
}
pub(crate) use stores;

/// The S3-protocol server to test on. Without one, object-store tests are skipped with a
/// notice, except in CI, where skipping them silently would hide failures.
pub fn s3_endpoint() -> Option<String> {
    match std::env::var(TEST_S3_ENDPOINT) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_owned()),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "{TEST_S3_ENDPOINT} must be set in CI: the object-store tests may not be skipped"
            )
        }
        _ => {
            eprintln!("{TEST_S3_ENDPOINT} is not set: skipping the object-store variant");
            None
        }
    }
}

/// A bucket of its own on the test S3 server, and the settings that reach it.
pub async fn new_bucket() -> (String, ecoplan::storage::ObjectStoreSettings) {
    let endpoint = s3_endpoint().expect("an S3-protocol server to test on");
    let bucket = format!("ecoplan-{}", random_secret(12).to_ascii_lowercase());
    // moto takes unsigned requests; a bucket is made with a plain PUT.
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("the S3-protocol server answers");
    assert!(
        created.status().is_success(),
        "cannot create bucket {bucket}: {}",
        created.status()
    );
    (
        format!("s3://{bucket}/evidence"),
        ecoplan::storage::ObjectStoreSettings {
            endpoint: Some(endpoint),
            region: Some("us-east-1".to_owned()),
            access_key_id: Some("testing".to_owned()),
            secret_access_key: Some("testing".to_owned()),
            allow_http: true,
        },
    )
}

/// The PostgreSQL server to test on. Without one, PostgreSQL tests are skipped with a
/// notice, except in CI, where skipping them silently would hide failures.
pub fn postgres_url() -> Option<String> {
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{TEST_DATABASE_URL} must be set in CI: the PostgreSQL tests may not be skipped")
        }
        _ => {
            eprintln!("{TEST_DATABASE_URL} is not set: skipping the PostgreSQL variant");
            None
        }
    }
}

/// A database that exists for one test, and is removed when the last server using it is
/// gone.
pub struct TestDatabase {
    pub url: String,
    place: Place,
}

enum Place {
    /// Removed with its folder.
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDatabase {
    /// A database holding the migrated schema and the 2022 plan, and nothing else.
    pub async fn seeded(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres(true).await,
        }
    }

    /// A database with no tables at all, for the command line to migrate.
    pub async fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres(false).await,
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder can be made");
        let url = format!("sqlite://{}/ecoplan.db", dir.path().display());
        Self {
            url,
            place: Place::Sqlite(dir),
        }
    }

    async fn postgres(from_template: bool) -> Self {
        let admin_url = postgres_url().expect("PostgreSQL tests run only with TEST_DATABASE_URL");
        let name = format!("ecoplan_test_{}", random_secret(16).to_ascii_lowercase());
        let result = if from_template {
            clone_template(&admin_url, &name).await
        } else {
            create_empty(&admin_url, &name).await
        };
        if let Err(error) = result {
            panic!("cannot create the test database {name}: {error:#}");
        }
        Self {
            url: with_database(&admin_url, &name),
            place: Place::Postgres { admin_url, name },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Place::Postgres { admin_url, name } = &self.place else {
            return;
        };
        // Drop cannot wait for a future, and the test's runtime may be the one running
        // this code: a thread with its own small runtime does the work.
        let (admin_url, name) = (admin_url.clone(), name.clone());
        let outcome = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = admin_connection(&admin_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
                admin.close().await?;
                Ok(())
            })
        })
        .join();
        // A panic here, while a failed test unwinds, would abort the whole run.
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("cannot drop a test database: {error:#}"),
            Err(_) => eprintln!("dropping a test database panicked"),
        }
    }
}

/// The same server, another database: `postgres://u@h:5432/x?o` → `postgres://u@h:5432/name?o`.
fn with_database(url: &str, name: &str) -> String {
    let (base, options) = match url.split_once('?') {
        Some((base, options)) => (base, Some(options)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |at| at + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |at| authority_start + at);
    let mut with_name = format!("{}/{name}", &base[..authority_end]);
    if let Some(options) = options {
        with_name.push('?');
        with_name.push_str(options);
    }
    with_name
}

/// One connection to the server's maintenance database (a session-level advisory lock
/// belongs to the connection that took it, so the pool holds exactly one).
async fn admin_connection(admin_url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(admin_url.to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .context("cannot connect to TEST_DATABASE_URL")
}

/// Serialises template building across test threads and test processes.
const TEMPLATE_LOCK: i64 = 0x0ec0_91a2_7e57;

/// The code that fills the template: a change to it must not clone a stale template.
const SEEDING_CODE: [&str; 2] = [
    include_str!("../../src/service/seed.rs"),
    include_str!("../../src/text.rs"),
];

/// The template's name changes whenever the migrations, the plan file or the seeding
/// code do, so that a stale template is never cloned. Old templates stay (two work trees
/// may test at once, each with its own); remove one with `ALTER DATABASE … IS_TEMPLATE
/// false` and `DROP DATABASE …`.
fn template_name() -> String {
    let mut hash = Sha256::new();
    for migration in Migrator::migrations() {
        hash.update(migration.name().as_bytes());
        hash.update(b"\n");
    }
    hash.update(TANGSHAN_2022.as_bytes());
    for code in SEEDING_CODE {
        hash.update(code.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("ecoplan_tpl_{hex}")
}

async fn clone_template(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = admin_connection(admin_url).await?;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await?;
    let template = template_name();
    let result = async {
        ensure_template(&admin, admin_url, &template).await?;
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
            ))
            .await
            .with_context(|| format!("cannot clone {template}"))?;
        anyhow::Ok(())
    }
    .await;
    let unlocked = admin
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await;
    admin.close().await?;
    result?;
    unlocked?;
    Ok(())
}

/// Builds the template under another name and renames it when complete, so that a run
/// interrupted half-way never leaves a half-built template behind. Nobody may connect to
/// the finished template: cloning fails while another session is connected to it.
async fn ensure_template(
    admin: &DatabaseConnection,
    admin_url: &str,
    template: &str,
) -> anyhow::Result<()> {
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [template.into()],
        ))
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    let building = format!("{template}_building");
    admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
        ))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{building}\""))
        .await?;
    let (db, _) = ecoplan::db::connect(&with_database(admin_url, &building), 2).await?;
    ecoplan::db::migrate(&db).await?;
    seed_plan(&db, TANGSHAN_2022)
        .await
        .map_err(|error| error.into_anyhow())?;
    db.close().await?;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
        ))
        .await?;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{template}\" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
        ))
        .await?;
    Ok(())
}

async fn create_empty(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = admin_connection(admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    admin.close().await?;
    Ok(())
}

/// A client that reads messages in English, which the tests compare (`languages` tests
/// the other languages, and the default).
fn english_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static("en"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

/// A running server, its database, and a client for it.
pub struct TestApp {
    pub port: u16,
    pub client: reqwest::Client,
    /// The server's own connection pool.
    pub db: DatabaseConnection,
    pub backend: Backend,
    /// The HS256 secret the server signs its tokens with.
    pub jwt_secret: String,
    /// The password of `admin`, made by the server on its first start.
    pub admin_password: String,
    /// Stops the server, as SIGTERM would (`stop(true)`: requests in flight finish).
    pub handle: actix_web::dev::ServerHandle,
    /// The port `/metrics` has to itself when `metrics_addr` is set.
    pub metrics_port: Option<u16>,
    statements: StatementCounter,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    database: Arc<TestDatabase>,
    /// Where the server keeps evidence files: a folder of its own, removed with it.
    storage: Arc<TempDir>,
    /// Or, on an object store, the bucket's URL and how it is reached.
    object_store: Option<(String, ecoplan::storage::ObjectStoreSettings)>,
}

impl TestApp {
    /// A server with the test settings on a fresh database holding the 2022 plan.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like `spawn`, with some settings changed first.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_on_with(backend, Store::Folder, configure).await
    }

    /// A server with the test settings, keeping its files in `store`.
    pub async fn spawn_on(backend: Backend, store: Store) -> Self {
        Self::spawn_on_with(backend, store, |_| {}).await
    }

    /// Like `spawn_on`, with some settings changed first.
    pub async fn spawn_on_with(
        backend: Backend,
        store: Store,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let database = Arc::new(TestDatabase::seeded(backend).await);
        let storage = Arc::new(tempfile::tempdir().expect("a temporary folder can be made"));
        let object_store = match store {
            Store::Folder => None,
            Store::Objects => Some(new_bucket().await),
        };
        Self::start(
            backend,
            database,
            storage,
            object_store,
            random_secret(48),
            None,
            configure,
        )
        .await
    }

    /// A second server on this server's database, with the same secret: state kept in the
    /// database is seen by both.
    pub async fn spawn_second_server(&self) -> Self {
        self.spawn_second_server_with(|_| {}).await
    }

    /// Like `spawn_second_server`, with some settings changed first (another clock, say).
    pub async fn spawn_second_server_with(&self, configure: impl FnOnce(&mut Settings)) -> Self {
        Self::start(
            self.backend,
            self.database.clone(),
            self.storage.clone(),
            self.object_store.clone(),
            self.jwt_secret.clone(),
            Some(self.admin_password.clone()),
            configure,
        )
        .await
    }

    async fn start(
        backend: Backend,
        database: Arc<TestDatabase>,
        storage: Arc<TempDir>,
        object_store: Option<(String, ecoplan::storage::ObjectStoreSettings)>,
        jwt_secret: String,
        admin_password: Option<String>,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let addr = "127.0.0.1:0".parse().expect("a loopback address");
        let mut settings = Settings::new(database.url.clone(), addr);
        settings.auth.jwt_secret = Some(jwt_secret.clone());
        settings.storage_dir = storage.path().to_path_buf();
        if let Some((url, reached)) = &object_store {
            settings.storage_url = Some(url.clone());
            settings.object_store = reached.clone();
        }
        // Tests sign in far more often than people do; the per-address rate has tests of
        // its own (sign_in.rs), which set it.
        settings.auth.login_rate_per_minute = 0;
        configure(&mut settings);
        let mut app = Application::build(settings)
            .await
            .expect("the application starts");
        let admin_password = app
            .take_initial_admin_password()
            .or(admin_password)
            .expect("the first start creates `admin`");
        let port = app.port();
        let metrics_port = app.metrics_port();
        let db = app.db().clone();
        let statements = app.statements();
        let handle = app.handle();
        let server = tokio::spawn(app.run_until_stopped());
        Self {
            port,
            client: english_client(),
            db,
            backend,
            jwt_secret,
            admin_password,
            handle,
            metrics_port,
            statements,
            server,
            database,
            storage,
            object_store,
        }
    }

    /// Waits for `run_until_stopped` to return (after `handle.stop(…)`), at most `limit`.
    pub async fn stopped(&mut self, limit: std::time::Duration) -> std::io::Result<()> {
        tokio::time::timeout(limit, &mut self.server)
            .await
            .unwrap_or_else(|_| panic!("the server did not stop within {limit:?}"))
            .expect("the server task did not panic")
    }

    /// The URL of the server's database, for other programs to open.
    pub fn database_url(&self) -> String {
        self.database.url.clone()
    }

    /// SQL statements the server has run so far.
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Posts a query anonymously and returns the JSON response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.post_graphql(None, query, variables).await
    }

    /// Posts a query with `Authorization: Bearer <token>`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.post_graphql(Some(token), query, variables).await
    }

    async fn post_graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let body = response.text().await.expect("the response has a body");
        serde_json::from_str(&body)
            .unwrap_or_else(|_| panic!("the response ({status}) is not JSON: {body}"))
    }

    /// Posts a query with a token and returns the JSON response and the request id the
    /// server gave the request (its `x-request-id` header).
    pub async fn graphql_traced(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> (Value, String) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the server answers");
        read_traced(response).await
    }

    /// Posts an operation as a GraphQL multipart request, with one file in the variable
    /// `$file`; returns the JSON response and the request id.
    pub async fn graphql_multipart(
        &self,
        token: Option<&str>,
        query: &str,
        mut variables: Value,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> (Value, String) {
        variables["file"] = Value::Null;
        let operations = json!({ "query": query, "variables": variables }).to_string();
        let form = reqwest::multipart::Form::new()
            .text("operations", operations)
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
            );
        let mut request = self.client.post(self.url("/graphql")).multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        read_traced(response).await
    }

    /// `GET path`, with a bearer token if one is given.
    pub async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the server answers")
    }

    /// The files the server keeps in its storage folder.
    pub fn stored_files(&self) -> Vec<PathBuf> {
        fn walk(folder: &Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(folder).expect("the storage folder can be read") {
                let path = entry.expect("a folder entry").path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.storage.path(), &mut found);
        found
    }

    /// The keys of the files the server keeps, pending or stored, in the folder or the
    /// bucket.
    pub async fn stored_objects(&self) -> Vec<String> {
        match &self.object_store {
            None => self
                .stored_files()
                .iter()
                .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
                .collect(),
            Some((url, reached)) => {
                use ecoplan::storage::FileStore;
                let store = ecoplan::storage::ObjectFileStore::new(url, reached)
                    .expect("the test bucket can be reached");
                store
                    .list(std::time::Duration::ZERO)
                    .await
                    .expect("the test bucket can be listed")
                    .into_iter()
                    .map(|file| file.key)
                    .collect()
            }
        }
    }

    /// Signs in and returns the token; panics when the sign-in fails.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .graphql(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        response["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{username} cannot sign in: {response:#}"))
            .to_owned()
    }

    /// A token for `admin`.
    pub async fn admin_token(&self) -> String {
        self.login("admin", &self.admin_password.clone()).await
    }

    /// Creates a user directly through the service layer; returns its username and
    /// password. A department is named by its code.
    pub async fn create_user(
        &self,
        username: &str,
        role: Role,
        department_code: Option<&str>,
    ) -> (String, String) {
        let password = random_secret(16);
        let department_id = match department_code {
            Some(code) => Some(self.department_id(code).await),
            None => None,
        };
        let created = create_user(
            &self.db,
            &Caller::system(),
            NewUser {
                username: username.to_owned(),
                display_name: None,
                password: password.clone(),
                role,
                department_id,
            },
        )
        .await
        .unwrap_or_else(|error| panic!("cannot create {username}: {}", error.message()));
        (created.username, password)
    }

    /// Creates a user with a fresh name and signs it in.
    pub async fn token_for(&self, role: Role, department_code: Option<&str>) -> String {
        let (username, password) = self
            .create_user(&unique_name(role), role, department_code)
            .await;
        self.login(&username, &password).await
    }

    /// The row id of a department.
    pub async fn department_id(&self, code: &str) -> i64 {
        department::Entity::find()
            .filter(department::Column::Code.eq(code))
            .one(&self.db)
            .await
            .expect("the database answers")
            .unwrap_or_else(|| panic!("no department has the code {code}"))
            .id
    }

    /// A user's row.
    pub async fn user_row(&self, username: &str) -> user::Model {
        user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&self.db)
            .await
            .expect("the database answers")
            .unwrap_or_else(|| panic!("no user is called {username}"))
    }

    /// The global id of a task of the 2022 plan.
    pub async fn task_id(&self, code: &str) -> String {
        let plan = ecoplan::entity::plan::Entity::find()
            .filter(ecoplan::entity::plan::Column::Key.eq("tangshan-2022"))
            .one(&self.db)
            .await
            .expect("the database answers")
            .expect("the 2022 plan is loaded");
        let row = task::Entity::find()
            .filter(task::Column::PlanId.eq(plan.id))
            .filter(task::Column::Code.eq(code))
            .one(&self.db)
            .await
            .expect("the database answers")
            .unwrap_or_else(|| panic!("no task has the code {code}"));
        NodeId::new(NodeKind::Task, row.id).encode()
    }

    /// The global id of the 2022 plan.
    pub async fn plan_id(&self) -> String {
        let plan = ecoplan::entity::plan::Entity::find()
            .filter(ecoplan::entity::plan::Column::Key.eq("tangshan-2022"))
            .one(&self.db)
            .await
            .expect("the database answers")
            .expect("the 2022 plan is loaded");
        NodeId::new(NodeKind::Plan, plan.id).encode()
    }

    /// The global id of a task's indicator, by its place among the task's indicators
    /// (0 for the first).
    pub async fn indicator_id(&self, task_code: &str, place: usize) -> String {
        let task =
            NodeId::decode_as(&self.task_id(task_code).await, NodeKind::Task).expect("a task id");
        let mut indicators = indicator::Entity::find()
            .filter(indicator::Column::TaskId.eq(task))
            .all(&self.db)
            .await
            .expect("the database answers");
        indicators.sort_by_key(|indicator| indicator.position);
        let indicator = indicators
            .get(place)
            .unwrap_or_else(|| panic!("task {task_code} has no indicator {place}"));
        NodeId::new(NodeKind::Indicator, indicator.id).encode()
    }

    /// Creates a user with a fresh name and signs it in.
    pub async fn account(&self, role: Role, department_code: Option<&str>) -> Account {
        let (username, password) = self
            .create_user(&unique_name(role), role, department_code)
            .await;
        let token = self.login(&username, &password).await;
        let id = global_id(NodeKind::User, self.user_row(&username).await.id);
        Account {
            username,
            id,
            token,
        }
    }

    /// How many audit entries record an action.
    pub async fn count_audit_entries(&self, action: &str) -> u64 {
        ecoplan::entity::audit_log::Entity::find()
            .filter(ecoplan::entity::audit_log::Column::Action.eq(action))
            .count(&self.db)
            .await
            .expect("the database answers")
    }

    /// How many rows a table has, by raw SQL.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("the database answers")
            .expect("a count has a row");
        row.try_get::<i64>("", "n").expect("a count is a number")
    }
}

/// The JSON body of a response and its `x-request-id` header.
async fn read_traced(response: reqwest::Response) -> (Value, String) {
    let status = response.status();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("the response ({status}) has no x-request-id"))
        .to_owned();
    let body = response.text().await.expect("the response has a body");
    let body = serde_json::from_str(&body)
        .unwrap_or_else(|_| panic!("the response ({status}) is not JSON: {body}"));
    (body, request_id)
}

/// A signed-in user: its name, global id and token.
pub struct Account {
    pub username: String,
    pub id: String,
    pub token: String,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A username no other test user has.
pub fn unique_name(role: Role) -> String {
    format!(
        "{}-{}",
        role.as_str().to_ascii_lowercase(),
        random_secret(10).to_ascii_lowercase()
    )
}

/// The global id of a row of a kind.
pub fn global_id(kind: NodeKind, id: i64) -> String {
    NodeId::new(kind, id).encode()
}

/// The code in `errors[0].extensions.code`, if the response has an error.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Asserts the first error's `extensions.code`, and that the code is a value of the
/// `ErrorCode` enum of the committed schema, which clients type the codes with.
#[track_caller]
pub fn assert_error_code(response: &Value, code: &str) {
    assert_eq!(
        error_code(response),
        Some(code),
        "expected the error code {code} in {response:#}"
    );
    assert!(
        schema_error_codes().iter().any(|value| value == code),
        "{code} is not a value of `enum ErrorCode` in schema.graphql"
    );
}

/// The values of `enum ErrorCode` in the committed `schema.graphql`.
pub fn schema_error_codes() -> Vec<String> {
    described_error_codes()
        .into_iter()
        .map(|(code, _)| code)
        .collect()
}

/// The values of `enum ErrorCode` in the committed `schema.graphql`, each with the
/// description printed above it (empty when there is none).
pub fn described_error_codes() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let sdl = std::fs::read_to_string(path).expect("schema.graphql is committed");
    let body = sdl
        .split_once("enum ErrorCode {")
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(body, _)| body)
        .expect("schema.graphql has an `enum ErrorCode`");
    let mut in_description = false;
    let mut description = String::new();
    let mut values = Vec::new();
    for line in body.lines().map(str::trim) {
        if line == "\"\"\"" {
            in_description = !in_description;
        } else if in_description || line.starts_with('"') {
            description.push_str(line.trim_matches('"'));
            description.push(' ');
        } else if !line.is_empty() {
            values.push((line.to_owned(), std::mem::take(&mut description)));
        }
    }
    values
}

/// The response's `data`, after asserting that there are no errors.
#[track_caller]
pub fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none(),
        "expected no errors in {response:#}"
    );
    &response["data"]
}

/// The `code` of every task in a list of task objects.
#[track_caller]
pub fn codes(tasks: &Value) -> Vec<String> {
    tasks
        .as_array()
        .unwrap_or_else(|| panic!("expected a list of tasks, got {tasks:#}"))
        .iter()
        .map(|task| {
            task["code"]
                .as_str()
                .unwrap_or_else(|| panic!("a task without a code: {task:#}"))
                .to_owned()
        })
        .collect()
}

/// The task codes of a connection's edges.
#[track_caller]
pub fn edge_codes(connection: &Value) -> Vec<String> {
    let nodes: Vec<Value> = connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a connection, got {connection:#}"))
        .iter()
        .map(|edge| edge["node"].clone())
        .collect();
    codes(&Value::Array(nodes))
}

/// Every code of the 2022 plan, in the document's order.
pub fn all_task_codes() -> Vec<String> {
    let mut all = Vec::new();
    for number in 1..=38 {
        all.push(number.to_string());
        match number {
            2 => all.extend(["2.1", "2.2", "2.3"].map(String::from)),
            5 => all.extend(["5.1", "5.2"].map(String::from)),
            _ => {}
        }
    }
    all
}

/// Turns `&["a", "b"]` into owned strings, for comparing with `codes`.
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}
