//! Who this server is to browsers: the public URL it answers as (`--public-url`), so that a request
//! naming another host (DNS rebinding) or a change sent from another origin (cross-site requests) is
//! refused, and the session cookie is `Secure` with the `__Host-` prefix when the console is served
//! over https.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

/// The session cookie's name over http.
pub const COOKIE: &str = "cd_session";
/// The session cookie's name over https (bound to this host, `Secure`, path `/`).
pub const SECURE_COOKIE: &str = "__Host-cd_session";
/// The cookie of the other sessions this browser keeps at hand (rules §15.36), and its https name.
pub const KEPT_COOKIE: &str = "cd_kept";
pub const SECURE_KEPT_COOKIE: &str = "__Host-cd_kept";
/// In sandbox mode, the visitor's key to their sandbox (rules §18.1).
pub const SANDBOX_COOKIE: &str = "cd_sandbox";
pub const SECURE_SANDBOX_COOKIE: &str = "__Host-cd_sandbox";

/// A parsed `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    /// Lower case; an IPv6 address in brackets.
    host: String,
    port: u16,
}

impl Origin {
    fn parse(url: &str) -> Result<Origin, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("\"{url}\" does not start with http:// or https://"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "\"{url}\" must be scheme://host[:port] with no path, query or user (e.g. https://console.example.com)"
            ));
        }
        let default = if https { 443 } else { 80 };
        let (host, port) = split_host_port(authority, default)
            .ok_or_else(|| format!("\"{url}\" has no valid host and port"))?;
        Ok(Origin { https, host, port })
    }
}

/// `host[:port]` as a Host header or an origin's authority names it: the host lower-cased, the port
/// (`default` when absent).
fn split_host_port(authority: &str, default: u16) -> Option<(String, u16)> {
    let authority = authority.to_ascii_lowercase();
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (h, rest) = authority.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(p) => (h.to_string(), p.parse().ok()?),
            None if rest.is_empty() => (h.to_string(), default),
            None => return None,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (authority.clone(), default),
        }
    };
    let valid = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    valid.then_some((host, port))
}

fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// What the server answers as.
#[derive(Debug, Clone)]
pub struct Site {
    public: Origin,
    /// `host:port` pairs accepted in `Host` and `Origin`.
    hosts: BTreeSet<(String, u16)>,
    /// Listening on every address with no public URL: any IP literal with this port is accepted too (a
    /// rebinding attack needs a name, so literals are safe).
    any_ip_port: Option<u16>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    trusted_proxies: Vec<IpAddr>,
    /// The loopback names, reached over plain http whatever the public scheme.
    loopback: BTreeSet<(String, u16)>,
}

impl Site {
    /// `public_url` as given to `--public-url`, or (`None`) the address the server listens on. On a
    /// loopback address `localhost`, `127.0.0.1` and `[::1]` are the same host.
    pub fn new(public_url: Option<&str>, listen: SocketAddr) -> Result<Site, String> {
        let public = match public_url {
            Some(url) => Origin::parse(url)?,
            None => Origin {
                https: false,
                host: match listen.ip() {
                    IpAddr::V6(ip) => format!("[{ip}]"),
                    IpAddr::V4(ip) => ip.to_string(),
                },
                port: listen.port(),
            },
        };
        let mut hosts = BTreeSet::from([(public.host.clone(), public.port)]);
        let mut loopback = BTreeSet::new();
        let is_loopback = ip_literal(&public.host).is_some_and(|ip| ip.is_loopback() || ip.is_unspecified())
            || public.host == "localhost";
        if is_loopback {
            for alias in ["localhost", "127.0.0.1", "[::1]"] {
                hosts.insert((alias.to_string(), public.port));
                loopback.insert((alias.to_string(), public.port));
            }
        }
        let any_ip_port = (public_url.is_none() && listen.ip().is_unspecified()).then_some(listen.port());
        Ok(Site {
            public,
            hosts,
            any_ip_port,
            trusted_proxies: Vec::new(),
            loopback,
        })
    }

    /// Trusts these reverse proxies' `X-Forwarded-For`.
    pub fn with_trusted_proxies(mut self, proxies: Vec<IpAddr>) -> Site {
        self.trusted_proxies = proxies;
        self
    }

    /// The client a request comes from: the peer, or — when the peer is a trusted proxy — the nearest
    /// address in `X-Forwarded-For` that is not one of the trusted proxies.
    pub fn client_address(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .map(|a| a.to_canonical())
            .rev()
            .find(|a| !self.trusted_proxies.contains(a))
            .unwrap_or(peer)
    }

    /// The public URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        let scheme = if self.public.https { "https" } else { "http" };
        let default = if self.public.https { 443 } else { 80 };
        if self.public.port == default {
            format!("{scheme}://{}", self.public.host)
        } else {
            format!("{scheme}://{}:{}", self.public.host, self.public.port)
        }
    }

    /// Served over https (behind a TLS proxy): the cookie is `Secure`.
    pub fn secure(&self) -> bool {
        self.public.https
    }

    fn accepts(&self, host: &str, port: u16) -> bool {
        self.hosts.contains(&(host.to_string(), port))
            || self.any_ip_port == Some(port) && ip_literal(host).is_some()
    }

    /// Whether a request's `Host` names this server.
    pub fn host_ok(&self, host: &str) -> bool {
        let default = if self.public.https { 443 } else { 80 };
        split_host_port(host, default).is_some_and(|(h, p)| self.accepts(&h, p))
    }

    /// Whether an `Origin` header is this server's.
    pub fn origin_ok(&self, origin: &str) -> bool {
        Origin::parse(origin).is_ok_and(|o| {
            let loopback = !o.https && self.loopback.contains(&(o.host.clone(), o.port));
            (o.https == self.public.https || loopback) && self.accepts(&o.host, o.port)
        })
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure() {
            SECURE_COOKIE
        } else {
            COOKIE
        }
    }

    /// The name of the cookie holding the browser's other sessions, kept at hand (rules §15.36).
    pub fn kept_cookie_name(&self) -> &'static str {
        if self.secure() {
            SECURE_KEPT_COOKIE
        } else {
            KEPT_COOKIE
        }
    }

    /// The name of the cookie holding the visitor's sandbox key (rules §18.1).
    pub fn sandbox_cookie_name(&self) -> &'static str {
        if self.secure() {
            SECURE_SANDBOX_COOKIE
        } else {
            SANDBOX_COOKIE
        }
    }

    /// `Set-Cookie` for the sandbox key (`value`), or to clear it (`None`).
    pub fn sandbox_cookie(&self, value: Option<&str>) -> String {
        self.set_cookie(self.sandbox_cookie_name(), value)
    }

    /// `Set-Cookie` for a session (`value`), or to clear it (`None`).
    pub fn cookie(&self, value: Option<&str>) -> String {
        self.set_cookie(self.cookie_name(), value)
    }

    /// `Set-Cookie` for the kept sessions (`value`), or to clear them (`None`).
    pub fn kept_cookie(&self, value: Option<&str>) -> String {
        self.set_cookie(self.kept_cookie_name(), value)
    }

    fn set_cookie(&self, name: &str, value: Option<&str>) -> String {
        let secure = if self.secure() { "; Secure" } else { "" };
        match value {
            Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Strict{secure}"),
            None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(listen: &str) -> SocketAddr {
        listen.parse().unwrap()
    }

    #[test]
    fn a_loopback_server_answers_to_its_loopback_names_only() {
        let site = Site::new(None, at("127.0.0.1:8080")).unwrap();
        assert_eq!(site.url(), "http://127.0.0.1:8080");
        for ok in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"] {
            assert!(site.host_ok(ok), "{ok}");
        }
        for bad in [
            "rebind.evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "",
            "a b",
        ] {
            assert!(!site.host_ok(bad), "{bad}");
        }
        assert!(site.origin_ok("http://localhost:8080"));
        assert!(!site.origin_ok("http://rebind.evil.example:8080"));
        assert!(!site.origin_ok("null"));
        assert!(!site.cookie(Some("x")).contains("Secure"));
    }

    #[test]
    fn a_public_https_url_makes_the_cookie_secure_and_host_bound() {
        let site = Site::new(Some("https://Console.Example.com/"), at("127.0.0.1:8080")).unwrap();
        assert_eq!(site.url(), "https://console.example.com");
        assert!(site.host_ok("console.example.com"));
        assert!(site.host_ok("console.example.com:443"));
        assert!(!site.host_ok("127.0.0.1:8080"), "only the public name");
        assert!(site.origin_ok("https://console.example.com"));
        assert!(
            !site.origin_ok("http://console.example.com"),
            "not over plain http"
        );
        let cookie = site.cookie(Some("default.abc"));
        assert!(cookie.starts_with("__Host-cd_session=default.abc; Path=/") && cookie.ends_with("; Secure"));
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let site = Site::new(None, at("127.0.0.1:8080"))
            .unwrap()
            .with_trusted_proxies(vec!["10.0.0.2".parse().unwrap()]);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        assert_eq!(
            site.client_address("10.0.0.2".parse().unwrap(), &headers),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            site.client_address("10.0.0.3".parse().unwrap(), &headers),
            "10.0.0.3".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            site.client_address("10.0.0.2".parse().unwrap(), &axum::http::HeaderMap::new()),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn every_address_without_a_public_url_takes_ip_literals_but_no_names() {
        let site = Site::new(None, at("0.0.0.0:8080")).unwrap();
        assert!(site.host_ok("192.0.2.7:8080"));
        assert!(site.host_ok("localhost:8080"));
        assert!(!site.host_ok("rebind.evil.example:8080"));
    }

    #[test]
    fn bad_public_urls_are_refused_by_what_is_wrong() {
        for bad in [
            "console.example.com",
            "ftp://x",
            "https://x/path",
            "https://user@x",
            "https://x:99999",
        ] {
            assert!(Site::new(Some(bad), at("127.0.0.1:1")).is_err(), "{bad}");
        }
    }
}
