//! The address of the client behind a request. `X-Forwarded-For` is believed only when
//! the connection comes from a configured proxy; anyone else could write any address
//! there and escape the per-address limits.

use std::net::IpAddr;

use actix_web::HttpRequest;
use anyhow::{Context, bail};

/// Proxies whose `X-Forwarded-For` is believed: addresses or networks (`10.0.0.0/8`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, candidate: IpAddr) -> bool {
        match (self.address, canonical(candidate)) {
            (IpAddr::V4(network), IpAddr::V4(candidate)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(candidate) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(candidate)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(candidate) & mask
            }
            _ => false,
        }
    }
}

/// IPv4 addresses that arrive mapped into IPv6 (`::ffff:10.0.0.1`) compare as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl TrustedProxies {
    /// Parses `ECOPLAN_TRUSTED_PROXIES`: addresses or networks, comma-separated.
    pub fn parse(items: &[String]) -> anyhow::Result<Self> {
        let mut networks = Vec::new();
        for item in items
            .iter()
            .map(|item| item.trim())
            .filter(|item| !item.is_empty())
        {
            let (address, prefix) = match item.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (item, None),
            };
            let address: IpAddr = address.parse().with_context(|| {
                format!("ECOPLAN_TRUSTED_PROXIES: `{item}` is not an address such as 10.0.0.2 or a network such as 10.0.0.0/8")
            })?;
            let address = canonical(address);
            let longest = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(prefix) => match prefix.parse::<u8>() {
                    Ok(prefix) if prefix <= longest => prefix,
                    _ => bail!("ECOPLAN_TRUSTED_PROXIES: `{item}` has a bad prefix length"),
                },
                None => longest,
            };
            networks.push(Network { address, prefix });
        }
        Ok(Self(networks))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the last
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_address(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(request.peer_addr()?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .map(|hop| hop.parse::<IpAddr>().ok().map(canonical))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        // Each proxy appends the address it received from; the rightmost untrusted one
        // is the first that no proxy of ours vouches for.
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|hop| !self.trusts(*hop))
                .unwrap_or(peer),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses_only() {
        let proxies =
            TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).unwrap_or_default();
        assert!(proxies.trusts("10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(
            proxies.trusts(
                "::ffff:10.9.9.9"
                    .parse()
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
            )
        );
        assert!(!proxies.trusts(IpAddr::from([11, 0, 0, 1])));
        assert!(proxies.trusts("::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
    }
}
