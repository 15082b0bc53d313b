//! The municipal portal's signing keys: from a file given at start-up, or from its identity
//! provider's JWKS URL (given, or found by OpenID Connect discovery from the issuer), kept
//! for as long as the provider's `Cache-Control: max-age` says (within bounds) and fetched
//! again when a token names a key id the set does not hold. Refetches for unknown key ids
//! are rate limited, so that made-up ids cannot be used to flood the provider; a failed
//! fetch keeps the last good set.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;

/// Where the portal's keys come from.
#[derive(Clone, Debug)]
pub enum PortalKeySource {
    /// A PEM public key or a JWKS file, read once at start-up.
    File(PathBuf),
    /// The identity provider's JWKS URL.
    JwksUrl(String),
    /// The `jwks_uri` of the issuer's `/.well-known/openid-configuration`.
    Discovery,
}

/// How keys are fetched from the identity provider.
#[derive(Clone, Copy, Debug)]
pub struct KeyFetchSettings {
    /// The least time between two fetches that are not due to the cache expiring, such as
    /// a token naming an unknown key id (and between attempts after a failure).
    pub refetch_interval: Duration,
    /// Bounds on how long a fetched set is kept, whatever the provider says.
    pub min_cache: Duration,
    pub max_cache: Duration,
    /// How long a set is kept when the provider says nothing.
    pub default_cache: Duration,
    /// The longest one fetch may take.
    pub timeout: Duration,
}

impl Default for KeyFetchSettings {
    fn default() -> Self {
        Self {
            refetch_interval: Duration::from_secs(DEFAULT_REFETCH_SECONDS),
            min_cache: Duration::from_secs(60),
            max_cache: Duration::from_secs(24 * 3600),
            default_cache: Duration::from_secs(15 * 60),
            timeout: Duration::from_secs(10),
        }
    }
}

pub const DEFAULT_REFETCH_SECONDS: u64 = 30;

/// The largest key set or discovery document read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// One key a portal token may be signed with.
pub struct PortalKey {
    pub key_id: Option<String>,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// The portal's keys, and how to fetch them again.
pub struct PortalKeySet {
    remote: Option<Remote>,
    current: RwLock<Cached>,
    /// One fetch at a time: requests that find it running wait for its result.
    fetching: tokio::sync::Mutex<()>,
}

struct Remote {
    client: reqwest::Client,
    location: Location,
    settings: KeyFetchSettings,
    /// The JWKS URL found by discovery, once found.
    discovered: RwLock<Option<Url>>,
}

enum Location {
    Jwks(Url),
    /// The issuer's discovery document, and the issuer it must name.
    Discovery {
        document: Url,
        issuer: String,
    },
}

#[derive(Clone)]
struct Cached {
    keys: Arc<Vec<PortalKey>>,
    /// When the set should be fetched again (`None`: never fetched).
    fresh_until: Option<Instant>,
    /// The last fetch, whether it worked or not.
    last_attempt: Option<Instant>,
}

impl PortalKeySet {
    /// Reads a key file, or prepares to fetch from the identity provider (nothing is fetched
    /// until a portal token arrives). A URL that is not HTTPS, or plain HTTP to a loopback
    /// address, is refused.
    pub fn load(
        source: &PortalKeySource,
        issuer: &str,
        settings: KeyFetchSettings,
    ) -> anyhow::Result<Self> {
        let location = match source {
            PortalKeySource::File(path) => {
                let raw = std::fs::read(path).with_context(|| {
                    format!(
                        "ECOPLAN_PORTAL_KEY_FILE `{}` cannot be read",
                        path.display()
                    )
                })?;
                let keys = parse_key_file(&raw);
                anyhow::ensure!(
                    !keys.is_empty(),
                    "ECOPLAN_PORTAL_KEY_FILE holds no RSA or EC public key (PEM or JWKS)"
                );
                return Ok(Self::fixed(keys));
            }
            PortalKeySource::JwksUrl(url) => {
                Location::Jwks(checked_url(url).context("ECOPLAN_PORTAL_JWKS_URL")?)
            }
            PortalKeySource::Discovery => {
                let base = checked_url(issuer).context(
                    "ECOPLAN_PORTAL_ISSUER (its keys are found by OpenID Connect discovery \
                     when neither ECOPLAN_PORTAL_KEY_FILE nor ECOPLAN_PORTAL_JWKS_URL is set)",
                )?;
                let document = Url::parse(&format!(
                    "{}/.well-known/openid-configuration",
                    base.as_str().trim_end_matches('/')
                ))
                .context("ECOPLAN_PORTAL_ISSUER")?;
                Location::Discovery {
                    document,
                    issuer: issuer.to_owned(),
                }
            }
        };
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= 3 {
                    attempt.error("more than three redirects")
                } else if checked_url(attempt.url().as_str()).is_err() {
                    attempt.error("a redirect to an address that is neither HTTPS nor loopback")
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .context("cannot make the HTTP client for the portal's keys")?;
        Ok(Self {
            remote: Some(Remote {
                client,
                location,
                settings,
                discovered: RwLock::new(None),
            }),
            current: RwLock::new(Cached {
                keys: Arc::new(Vec::new()),
                fresh_until: None,
                last_attempt: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn fixed(keys: Vec<PortalKey>) -> Self {
        Self {
            remote: None,
            current: RwLock::new(Cached {
                keys: Arc::new(keys),
                fresh_until: None,
                last_attempt: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> Cached {
        match self.current.read() {
            Ok(cached) => cached.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The keys held now, without fetching.
    pub fn held(&self) -> Arc<Vec<PortalKey>> {
        self.cached().keys
    }

    /// The keys to check a token naming `key_id` against: the held set, fetched again
    /// first when it has expired or does not hold `key_id` (and the last fetch is long
    /// enough ago).
    pub async fn for_key_id(&self, key_id: Option<&str>) -> Arc<Vec<PortalKey>> {
        let Some(remote) = &self.remote else {
            return self.held();
        };
        let wanted = |cached: &Cached| {
            let now = Instant::now();
            let stale = cached.fresh_until.is_none_or(|until| now >= until);
            let unknown = match key_id {
                Some(id) => !cached
                    .keys
                    .iter()
                    .any(|key| key.key_id.as_deref() == Some(id)),
                None => cached.keys.is_empty(),
            };
            let allowed = cached
                .last_attempt
                .is_none_or(|at| now.duration_since(at) >= remote.settings.refetch_interval);
            (stale || unknown) && allowed
        };
        if !wanted(&self.cached()) {
            return self.held();
        }
        let _fetching = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if !wanted(&self.cached()) {
            return self.held();
        }
        let started = Instant::now();
        self.update(|cached| cached.last_attempt = Some(started));
        match remote.fetch().await {
            Ok((keys, max_age)) => {
                let lifetime = max_age
                    .unwrap_or(remote.settings.default_cache)
                    .clamp(remote.settings.min_cache, remote.settings.max_cache);
                tracing::info!(
                    target: "ecoplan::auth",
                    keys = keys.len(),
                    kept_seconds = lifetime.as_secs(),
                    "fetched the portal's keys"
                );
                self.update(|cached| {
                    cached.keys = Arc::new(keys);
                    cached.fresh_until = Some(started + lifetime);
                });
            }
            Err(error) => {
                tracing::warn!(
                    target: "ecoplan::auth",
                    error = %format!("{error:#}"),
                    "cannot fetch the portal's keys; the last good set stays in use"
                );
            }
        }
        self.held()
    }

    fn update(&self, change: impl FnOnce(&mut Cached)) {
        match self.current.write() {
            Ok(mut cached) => change(&mut cached),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }
}

impl Remote {
    /// The key set and how long the provider says it may be kept.
    async fn fetch(&self) -> anyhow::Result<(Vec<PortalKey>, Option<Duration>)> {
        let url = match &self.location {
            Location::Jwks(url) => url.clone(),
            Location::Discovery { document, issuer } => {
                let known = self.discovered.read().ok().and_then(|found| found.clone());
                match known {
                    Some(url) => url,
                    None => {
                        let url = self.discover(document, issuer).await?;
                        if let Ok(mut found) = self.discovered.write() {
                            *found = Some(url.clone());
                        }
                        url
                    }
                }
            }
        };
        let fetched = self.get(&url).await;
        if fetched.is_err()
            && let Ok(mut found) = self.discovered.write()
        {
            // The provider may have moved its keys: look again next time.
            *found = None;
        }
        let (body, max_age) = fetched?;
        let set: JwkSet = serde_json::from_slice(&body)
            .with_context(|| format!("{} is not a JSON Web Key Set", shown(&url)))?;
        let keys = keys_of(&set);
        anyhow::ensure!(
            !keys.is_empty(),
            "{} holds no RSA or P-256 signing key",
            shown(&url)
        );
        Ok((keys, max_age))
    }

    /// The `jwks_uri` of the discovery document, which must name the configured issuer.
    async fn discover(&self, document: &Url, issuer: &str) -> anyhow::Result<Url> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let (body, _) = self.get(document).await?;
        let found: Discovery = serde_json::from_slice(&body).with_context(|| {
            format!(
                "{} is not an OpenID Connect discovery document",
                shown(document)
            )
        })?;
        anyhow::ensure!(
            found.issuer == issuer,
            "{} names the issuer `{}`, not ECOPLAN_PORTAL_ISSUER `{issuer}`",
            shown(document),
            found.issuer
        );
        checked_url(&found.jwks_uri).with_context(|| format!("the jwks_uri of {}", shown(document)))
    }

    /// A document's bytes (at most `MAX_DOCUMENT_BYTES`) and its `Cache-Control: max-age`.
    async fn get(&self, url: &Url) -> anyhow::Result<(Vec<u8>, Option<Duration>)> {
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| error.without_url())
            .with_context(|| format!("cannot reach {}", shown(url)))?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "{} answered {status}", shown(url));
        let max_age = response
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(cache_lifetime);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| error.without_url())
            .with_context(|| format!("cannot read {}", shown(url)))?
        {
            anyhow::ensure!(
                body.len() + chunk.len() <= MAX_DOCUMENT_BYTES,
                "{} is larger than {MAX_DOCUMENT_BYTES} bytes",
                shown(url)
            );
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

/// What a `Cache-Control` value says about keeping the answer: `max-age`, or nothing
/// kept for `no-store` and `no-cache` (the bounds then apply).
fn cache_lifetime(value: &str) -> Option<Duration> {
    let directives: Vec<String> = value
        .split(',')
        .map(|directive| directive.trim().to_ascii_lowercase())
        .collect();
    if directives
        .iter()
        .any(|directive| directive == "no-store" || directive == "no-cache")
    {
        return Some(Duration::ZERO);
    }
    directives.iter().find_map(|directive| {
        directive
            .strip_prefix("max-age=")
            .and_then(|seconds| seconds.trim_matches('"').parse::<u64>().ok())
            .map(Duration::from_secs)
    })
}

/// A URL keys may be fetched from: HTTPS, or plain HTTP to a loopback address (for tests
/// and a provider on the same machine).
fn checked_url(raw: &str) -> anyhow::Result<Url> {
    let url = Url::parse(raw).with_context(|| format!("`{raw}` is not a URL"))?;
    anyhow::ensure!(
        url.username().is_empty() && url.password().is_none(),
        "a key URL may not carry a user name or password"
    );
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => anyhow::bail!(
            "`{}` is plain HTTP: keys are fetched over HTTPS (HTTP only from a loopback address)",
            shown(&url)
        ),
        other => anyhow::bail!("`{}`: the scheme `{other}` is not HTTPS", shown(&url)),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// A URL as the logs and errors show it: without its query, which might carry a secret.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// The signing keys of a set: RSA (RS256) and P-256 (ES256) keys not marked for
/// encryption; others are passed over.
fn keys_of(set: &JwkSet) -> Vec<PortalKey> {
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let algorithm = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(curve) if curve.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => continue,
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => keys.push(PortalKey {
                key_id: jwk.common.key_id.clone(),
                algorithm,
                key,
            }),
            Err(error) => tracing::warn!(
                target: "ecoplan::auth",
                key_id = ?jwk.common.key_id,
                %error,
                "a key of the portal's key set is not usable; it is passed over"
            ),
        }
    }
    keys
}

/// A JWKS file, or one PEM public key (RSA or EC).
fn parse_key_file(raw: &[u8]) -> Vec<PortalKey> {
    if let Ok(set) = serde_json::from_slice::<JwkSet>(raw) {
        return keys_of(&set);
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(raw) {
        return vec![PortalKey {
            key_id: None,
            algorithm: Algorithm::RS256,
            key,
        }];
    }
    if let Ok(key) = DecodingKey::from_ec_pem(raw) {
        return vec![PortalKey {
            key_id: None,
            algorithm: Algorithm::ES256,
            key,
        }];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_over_https_or_from_a_loopback_address_only() {
        for allowed in [
            "https://sso.tangshan.gov.cn/jwks",
            "http://127.0.0.1:8443/jwks",
            "http://[::1]/jwks",
            "http://localhost:9000/.well-known/jwks.json",
        ] {
            assert!(checked_url(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://sso.tangshan.gov.cn/jwks",
            "http://10.1.2.3/jwks",
            "ftp://127.0.0.1/jwks",
            "https://user:secret@sso.tangshan.gov.cn/jwks",
            "not a url",
        ] {
            assert!(checked_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn cache_control_gives_the_lifetime() {
        assert_eq!(
            cache_lifetime("public, max-age=3600"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(cache_lifetime("Max-Age=60"), Some(Duration::from_secs(60)));
        assert_eq!(cache_lifetime("no-store"), Some(Duration::ZERO));
        assert_eq!(
            cache_lifetime("max-age=600, no-cache"),
            Some(Duration::ZERO)
        );
        assert_eq!(cache_lifetime("public"), None);
    }

    #[test]
    fn a_url_is_shown_without_its_query() {
        let url = Url::parse("https://sso.example/jwks?key=secret#x").ok();
        assert_eq!(
            url.as_ref().map(shown).as_deref(),
            Some("https://sso.example/jwks")
        );
    }
}
