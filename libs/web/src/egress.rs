//! Where the server may send requests on someone's behalf (webhooks, federation):
//! public addresses only, unless an operator allowlisted the host
//! (`catalog.webhook_allowed_hosts`, `federation.allowed_private_hosts`).
//!
//! An admin-supplied URL (or a remote instance's) must not reach the cloud metadata service (169.254.169.254),
//! the loopback interface or the private network behind the server. The check runs
//! where the address is known: at creation for an IP literal or a name that resolves
//! to one, and again at every delivery through the HTTP client's own resolver (so a
//! name re-pointed after creation, DNS rebinding, is caught too). Redirects are not
//! followed.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Hosts (names or IP literals, lower case) allowed to resolve to non-public addresses.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allowed_hosts: Arc<HashSet<String>>,
    /// The setting that lists them, named in refusals.
    setting: &'static str,
}

impl EgressPolicy {
    pub fn new(allowed_hosts: &[String], setting: &'static str) -> Self {
        Self {
            allowed_hosts: Arc::new(allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect()),
            setting,
        }
    }

    fn allows(&self, host: &str, ip: IpAddr) -> bool {
        is_public(ip)
            || self
                .allowed_hosts
                .contains(&host.trim_matches(['[', ']']).to_ascii_lowercase())
    }

    /// Checks a URL's host before it is stored: an IP literal directly, a name by what
    /// it resolves to now (a name that does not resolve yet is checked at delivery).
    pub async fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        let Some(host) = url.host_str() else {
            return Err("the URL has no host".into());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = match literal_ip(host) {
            Some(ip) => vec![ip],
            // A slow resolver must not hold the request: the delivery checks again.
            None => match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port))).await {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                _ => Vec::new(),
            },
        };
        match addresses.into_iter().find(|ip| !self.allows(host, *ip)) {
            Some(ip) => Err(format!(
                "{host} is a private, loopback or link-local address ({ip}); an operator can allow it in {}",
                self.setting
            )),
            None => Ok(()),
        }
    }

    /// Whether a delivery to `url` must be refused before it is sent: an IP-literal
    /// host the policy does not allow (the client's resolver never sees literals; it
    /// checks names). Literals were checked at creation too, but the allowlist may
    /// have changed since.
    pub fn refuses_literal(&self, url: &str) -> bool {
        reqwest::Url::parse(url)
            .ok()
            .and_then(|url| {
                let host = url.host_str()?.to_owned();
                literal_ip(&host).map(|ip| !self.allows(&host, ip))
            })
            .unwrap_or(false)
    }

    /// An HTTP client that resolves names through this policy and follows no redirect.
    pub fn client(&self, timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(self.clone()))
            .build()
    }
}

/// How long a check before storing a URL waits for its name to resolve.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The address a URL host names literally (`10.0.0.1`, `[::1]`), if it does.
fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_matches(['[', ']']).parse().ok()
}

/// Refused at delivery: the address is not one this policy allows.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint's address is not allowed (private, loopback or link-local)")]
pub struct AddressNotAllowed;

impl reqwest::dns::Resolve for EgressPolicy {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let allowed: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| policy.allows(&host, addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(AddressNotAllowed) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `ip` is reachable on the public internet (not loopback, private,
/// link-local, shared, unspecified, multicast or documentation space).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert!(!is_public(ip), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1"] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert!(is_public(ip), "{ip}");
        }
    }

    #[tokio::test]
    async fn an_allowlisted_host_may_be_private_and_others_may_not() {
        let policy = EgressPolicy::new(&["127.0.0.1".to_owned()], "test.allowed");
        let url = |s: &str| reqwest::Url::parse(s).unwrap_or_else(|e| panic!("{e}"));
        assert!(policy.check_url(&url("http://127.0.0.1:9/hook")).await.is_ok());
        assert!(policy.check_url(&url("http://169.254.169.254/latest")).await.is_err());
        assert!(policy.check_url(&url("http://[::1]:9/")).await.is_err());
        // `localhost` resolves to loopback and is not itself allowlisted.
        assert!(policy.check_url(&url("http://localhost:9/")).await.is_err());
        assert!(
            EgressPolicy::default()
                .check_url(&url("http://127.0.0.1:9/"))
                .await
                .is_err()
        );
        assert!(!policy.refuses_literal("http://127.0.0.1:9/hook"));
        assert!(policy.refuses_literal("http://[::1]:9/hook"));
        assert!(policy.refuses_literal("http://169.254.169.254/"));
        assert!(
            !policy.refuses_literal("http://example.org/"),
            "names are the resolver's"
        );
    }
}
