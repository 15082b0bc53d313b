//! Signed download links: an absolute `/files/{id}` address that works without the
//! `Authorization` header (a plain `<a href>`, an `<img src>`), for a short time, for one
//! evidence file and one user. The link carries the user, the expiry and an HMAC-SHA256
//! over the file, the user, the user's token version and the expiry, under a key derived
//! from the token secret: revoking the user's tokens (or deactivating the user) ends the
//! links too, and the file's access rules are checked again on every download.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};

type LinkMac = Hmac<sha2_hmac::Sha256>;

/// What tells the link key apart from every other use of the token secret.
const KEY_PURPOSE: &[u8] = b"ecoplan download links v1";

/// Signs and checks download links.
pub struct DownloadLinks {
    /// The HMAC keyed with the link key, cloned for each link.
    keyed: LinkMac,
    lifetime: Duration,
}

/// The query a signed link adds to `/files/{id}`.
#[derive(Debug, serde::Deserialize)]
pub struct LinkQuery {
    pub user: Option<i64>,
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// A link's signature checked: whose it is. The holder's account is checked next.
#[derive(Debug, PartialEq, Eq)]
pub struct LinkHolder {
    pub user_id: i64,
    pub token_version: i32,
}

/// Why a link does not open.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkRefused {
    /// The signature does not match (a changed address, another file, a forged link).
    Invalid,
    Expired,
}

impl DownloadLinks {
    pub fn new(secret: &[u8], lifetime: Duration) -> anyhow::Result<Self> {
        let mut derive = <LinkMac as KeyInit>::new_from_slice(secret)
            .map_err(|_| anyhow::anyhow!("the signing secret is not usable for links"))?;
        derive.update(KEY_PURPOSE);
        let key = derive.finalize().into_bytes();
        Ok(Self {
            keyed: <LinkMac as KeyInit>::new_from_slice(&key)
                .map_err(|_| anyhow::anyhow!("the link key is not usable"))?,
            lifetime,
        })
    }

    fn mac(&self, evidence_id: i64, user_id: i64, token_version: i32, expires: i64) -> LinkMac {
        let mut mac = self.keyed.clone();
        mac.update(format!("{evidence_id}.{user_id}.{token_version}.{expires}").as_bytes());
        mac
    }

    /// The query of a link to an evidence file for a user, and when it stops working.
    pub fn sign(
        &self,
        evidence_id: i64,
        user_id: i64,
        token_version: i32,
        now: DateTime<Utc>,
    ) -> (String, DateTime<Utc>) {
        let lifetime = chrono::Duration::from_std(self.lifetime).unwrap_or(chrono::Duration::MAX);
        let expires_at = now
            .checked_add_signed(lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let expires = expires_at.timestamp();
        let signature = URL_SAFE_NO_PAD.encode(
            self.mac(evidence_id, user_id, token_version, expires)
                .finalize()
                .into_bytes(),
        );
        (
            format!("user={user_id}&expires={expires}&signature={signature}"),
            DateTime::from_timestamp(expires, 0).unwrap_or(expires_at),
        )
    }

    /// Checks a link's query for an evidence file, given the current token version of the
    /// user the query names (`None` when there is no such active user).
    pub fn check(
        &self,
        evidence_id: i64,
        query: &LinkQuery,
        token_version: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<LinkHolder, LinkRefused> {
        let (Some(user_id), Some(expires), Some(signature)) =
            (query.user, query.expires, query.signature.as_deref())
        else {
            return Err(LinkRefused::Invalid);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkRefused::Invalid)?;
        let token_version = token_version.ok_or(LinkRefused::Invalid)?;
        self.mac(evidence_id, user_id, token_version, expires)
            .verify_slice(&signature)
            .map_err(|_| LinkRefused::Invalid)?;
        if now.timestamp() >= expires {
            return Err(LinkRefused::Expired);
        }
        Ok(LinkHolder {
            user_id,
            token_version,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn links() -> DownloadLinks {
        DownloadLinks::new(
            b"a secret of at least thirty-two bytes!",
            Duration::from_secs(600),
        )
        .unwrap()
    }

    /// The three parameters of a signed query, read back.
    fn query_of(signed: &str) -> LinkQuery {
        let mut query = LinkQuery {
            user: None,
            expires: None,
            signature: None,
        };
        for pair in signed.split('&') {
            let (name, value) = pair.split_once('=').unwrap();
            match name {
                "user" => query.user = value.parse().ok(),
                "expires" => query.expires = value.parse().ok(),
                "signature" => query.signature = Some(value.to_owned()),
                _ => panic!("unexpected {name}"),
            }
        }
        query
    }

    #[test]
    fn a_link_opens_for_its_file_and_user_until_it_expires() {
        let links = links();
        let now = Utc::now();
        let (signed, expires_at) = links.sign(7, 3, 1, now);
        assert_eq!(expires_at.timestamp(), now.timestamp() + 600);
        let query = query_of(&signed);
        assert_eq!(
            links.check(7, &query, Some(1), now),
            Ok(LinkHolder {
                user_id: 3,
                token_version: 1
            })
        );
        let later = now + chrono::Duration::seconds(600);
        assert_eq!(
            links.check(7, &query, Some(1), later),
            Err(LinkRefused::Expired)
        );
    }

    #[test]
    fn a_link_opens_no_other_file_user_version_or_expiry() {
        let links = links();
        let now = Utc::now();
        let (signed, _) = links.sign(7, 3, 1, now);
        let query = query_of(&signed);
        assert_eq!(
            links.check(8, &query, Some(1), now),
            Err(LinkRefused::Invalid)
        );
        // The user's tokens were revoked since.
        assert_eq!(
            links.check(7, &query, Some(2), now),
            Err(LinkRefused::Invalid)
        );
        assert_eq!(links.check(7, &query, None, now), Err(LinkRefused::Invalid));
        let other_user = LinkQuery {
            user: Some(4),
            ..query_of(&signed)
        };
        assert_eq!(
            links.check(7, &other_user, Some(1), now),
            Err(LinkRefused::Invalid)
        );
        let longer = LinkQuery {
            expires: query.expires.map(|at| at + 3600),
            ..query_of(&signed)
        };
        assert_eq!(
            links.check(7, &longer, Some(1), now),
            Err(LinkRefused::Invalid)
        );
        let other_key = DownloadLinks::new(
            b"another secret, also thirty-two bytes",
            Duration::from_secs(600),
        )
        .unwrap();
        assert_eq!(
            other_key.check(7, &query, Some(1), now),
            Err(LinkRefused::Invalid)
        );
        let unsigned = LinkQuery {
            signature: None,
            ..query_of(&signed)
        };
        assert_eq!(
            links.check(7, &unsigned, Some(1), now),
            Err(LinkRefused::Invalid)
        );
    }
}
