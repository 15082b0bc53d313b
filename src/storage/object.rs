//! Evidence in an S3-compatible object store (`ECOPLAN_STORAGE_URL=s3://bucket/prefix`),
//! so that every instance of a city's deployment serves every file. The same life as in
//! the folder: an object under `pending/` until its row commits, then under its key's
//! two-letter prefix; the sweep lists both.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use super::{FileState, FileStore, ListedFile, PENDING_FOLDER, StoredFile, valid_key};

/// How an object store is reached: the bucket and prefix come from `ECOPLAN_STORAGE_URL`,
/// the rest from the standard `AWS_…` variables. Its `Debug` never shows the keys.
#[derive(Clone, Default)]
pub struct ObjectStoreSettings {
    /// `AWS_ENDPOINT_URL`: an S3-compatible server other than AWS.
    pub endpoint: Option<String>,
    /// `AWS_REGION`.
    pub region: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// `AWS_ALLOW_HTTP`: plain HTTP to the endpoint (a server on the same host).
    pub allow_http: bool,
}

impl std::fmt::Debug for ObjectStoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "…"))
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Uploads go up in parts of this size (S3's smallest but the last); a smaller file in
/// one request. Memory per upload is bounded by it, whatever the file's size.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Files in a bucket, under a prefix.
pub struct ObjectFileStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl ObjectFileStore {
    /// A store for `url` (`s3://bucket` or `s3://bucket/prefix`).
    pub fn new(url: &str, settings: &ObjectStoreSettings) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("s3://")
            .context("ECOPLAN_STORAGE_URL must be s3://bucket/prefix or file:///path")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "ECOPLAN_STORAGE_URL names no bucket");
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
            .with_allow_http(settings.allow_http);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .context("the object store settings are not usable")?;
        Ok(Self {
            store: Arc::new(store),
            prefix: Path::from(prefix.trim_matches('/')),
        })
    }

    fn checked(key: &str) -> anyhow::Result<&str> {
        anyhow::ensure!(valid_key(key), "a storage key must be alphanumeric");
        Ok(key)
    }

    fn stored_path(&self, key: &str) -> anyhow::Result<Path> {
        let key = Self::checked(key)?;
        Ok(self.prefix.clone().join(&key[..2]).join(key))
    }

    fn pending_path(&self, key: &str) -> anyhow::Result<Path> {
        let key = Self::checked(key)?;
        Ok(self.prefix.clone().join(PENDING_FOLDER).join(key))
    }

    async fn upload(&self, location: &Path, source: std::fs::File) -> anyhow::Result<()> {
        let mut source = tokio::fs::File::from_std(source);
        let mut first = vec![0u8; PART_BYTES];
        let filled = read_full(&mut source, &mut first).await?;
        first.truncate(filled);
        if filled < PART_BYTES {
            self.store
                .put(location, PutPayload::from(first))
                .await
                .context("cannot store a file in the object store")?;
            return Ok(());
        }
        let upload = self
            .store
            .put_multipart(location)
            .await
            .context("cannot start an upload to the object store")?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        writer.write(&first);
        let mut chunk = first;
        loop {
            writer
                .wait_for_capacity(2)
                .await
                .context("cannot upload a part to the object store")?;
            let filled = read_full(&mut source, &mut chunk).await?;
            if filled == 0 {
                break;
            }
            writer.write(&chunk[..filled]);
        }
        writer
            .finish()
            .await
            .context("cannot finish an upload to the object store")?;
        Ok(())
    }

    async fn get(
        &self,
        location: &Path,
        range: Option<Range<u64>>,
    ) -> object_store::Result<StoredFile> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.store.get_opts(location, options).await?;
        let stream = result
            .into_stream()
            .map_err(|error| std::io::Error::other(error.to_string()));
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)) as StoredFile)
    }
}

/// Reads until `buffer` is full or the file ends; the number of bytes read.
async fn read_full(source: &mut tokio::fs::File, buffer: &mut [u8]) -> anyhow::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = source
            .read(&mut buffer[filled..])
            .await
            .context("cannot read an upload")?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}

fn is_not_found(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::NotFound { .. })
}

impl FileStore for ObjectFileStore {
    fn put_pending<'a>(
        &'a self,
        key: &'a str,
        source: std::fs::File,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { self.upload(&self.pending_path(key)?, source).await })
    }

    fn commit<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let pending = self.pending_path(key)?;
            let stored = self.stored_path(key)?;
            match self.store.rename(&pending, &stored).await {
                Ok(()) => Ok(()),
                // Committed already (by the sweep, or another instance's).
                Err(error) if is_not_found(&error) && self.store.head(&stored).await.is_ok() => {
                    Ok(())
                }
                Err(error) => Err(anyhow::Error::new(error).context("cannot finish a stored file")),
            }
        })
    }

    fn open<'a>(
        &'a self,
        key: &'a str,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, anyhow::Result<StoredFile>> {
        Box::pin(async move {
            match self.get(&self.stored_path(key)?, range.clone()).await {
                Ok(file) => Ok(file),
                // The row committed a moment ago and the file is still being made stored.
                Err(error) if is_not_found(&error) => self
                    .get(&self.pending_path(key)?, range)
                    .await
                    .context("cannot open a stored file"),
                Err(error) => Err(anyhow::Error::new(error).context("cannot open a stored file")),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            for location in [self.pending_path(key)?, self.stored_path(key)?] {
                match self.store.delete(&location).await {
                    Ok(()) => {}
                    Err(error) if is_not_found(&error) => {}
                    Err(error) => {
                        return Err(
                            anyhow::Error::new(error).context("cannot remove a stored file")
                        );
                    }
                }
            }
            Ok(())
        })
    }

    fn list<'a>(&'a self, older: Duration) -> BoxFuture<'a, anyhow::Result<Vec<ListedFile>>> {
        Box::pin(async move {
            let cutoff = chrono::Utc::now()
                - chrono::Duration::from_std(older).unwrap_or(chrono::Duration::MAX);
            let prefix = (!self.prefix.as_ref().is_empty()).then(|| self.prefix.clone());
            let mut objects = self.store.list(prefix.as_ref());
            let mut found = Vec::new();
            while let Some(object) = objects.next().await {
                let object = object.context("cannot list the object store")?;
                if object.last_modified > cutoff {
                    continue;
                }
                let parts: Vec<_> = object.location.parts().collect();
                let [.., folder, name] = parts.as_slice() else {
                    continue;
                };
                let (folder, key) = (folder.as_ref(), name.as_ref());
                let state = if folder == PENDING_FOLDER {
                    FileState::Pending
                } else if folder.len() == 2 {
                    FileState::Stored
                } else {
                    continue;
                };
                if valid_key(key) {
                    found.push(ListedFile {
                        key: key.to_owned(),
                        state,
                    });
                }
            }
            Ok(found)
        })
    }

    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let prefix = (!self.prefix.as_ref().is_empty()).then(|| self.prefix.clone());
            self.store
                .list_with_delimiter(prefix.as_ref())
                .await
                .context("the object store does not answer")?;
            Ok(())
        })
    }
}
