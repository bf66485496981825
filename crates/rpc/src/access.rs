//! Which browsers may talk to the server: the Host and Origin checks and CORS, with geth's
//! flags and semantics (`--http.vhosts`, `--http.corsdomain`, `--ws.origins`).
//!
//! - A request without an `Origin` header (scripts, wallets, CLI tools) is never refused
//!   for its origin: only browsers send one, and they always do on cross-origin requests and
//!   on WebSocket handshakes. Browser extensions (`chrome-extension://`, `moz-extension://`,
//!   `safari-web-extension://`: wallets such as MetaMask) are not refused either: the user
//!   installed them and gave them network access, which CORS does not restrict.
//! - Plain HTTP: the name in `Host` must be an allowed virtual host or an IP address, else
//!   403 "invalid host specified" (a DNS-rebinding page reaches the node under the page's own
//!   name, never under an address). An `Origin` must match the CORS list, else 403; an
//!   allowed origin gets `Access-Control-Allow-Origin`, and a preflight (`OPTIONS` with
//!   `Access-Control-Request-Method`) is answered here with the methods, headers and max age.
//! - WebSocket handshake: the `Origin` must match the WebSocket origin list, else 403. As in
//!   geth, `Host` is not checked there (a browser always sends `Origin` on a handshake).
//!
//! Rules (both origin lists): `*` allows every origin; otherwise each entry is
//! `[scheme://]host[:port]`, where a missing scheme or port matches any, and a host
//! `*.example.com` matches its subdomains. Host names compare case-insensitively.

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use jsonrpsee::{core::BoxError, server::HttpBody};
use std::{
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};
use tracing::debug;

/// A rule list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// An origin rule is malformed.
    #[error("invalid origin {rule:?}: {reason}")]
    BadOrigin {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A virtual host is malformed.
    #[error("invalid virtual host {0:?}: expected a host name or `*`")]
    BadHost(String),
}

/// Browser origins allowed to call (CORS) or to open a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OriginRules {
    any: bool,
    rules: Vec<OriginRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct OriginRule {
    scheme: Option<String>,
    host: String,
    subdomains: bool,
    port: Option<u16>,
}

impl OriginRules {
    /// No browser origin (requests without an `Origin` header still pass).
    pub fn none() -> Self {
        Self::default()
    }

    /// Pages served from this machine: `localhost` and `127.0.0.1`, any scheme and port
    /// (the dev node's default, so local dApp front ends work).
    pub fn local() -> Self {
        Self::parse(["localhost", "127.0.0.1"]).expect("valid rules")
    }

    /// Parses a list of rules (see the module page); empty entries are skipped.
    pub fn parse<S: AsRef<str>>(list: impl IntoIterator<Item = S>) -> Result<Self, AccessError> {
        let mut out = Self::default();
        for rule in list {
            let rule = rule.as_ref().trim();
            if rule.is_empty() {
                continue;
            }
            if rule == "*" {
                out.any = true;
                continue;
            }
            out.rules.push(OriginRule::parse(rule)?);
        }
        Ok(out)
    }

    /// Whether the rules allow every origin.
    pub const fn allows_any(&self) -> bool {
        self.any
    }

    /// Whether a browser's `Origin` header value is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        if self.any {
            return true;
        }
        let Some((scheme, host, port)) = split_origin(origin) else { return false };
        self.rules.iter().any(|r| r.matches(&scheme, &host, port))
    }
}

impl std::fmt::Display for OriginRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = self.any.then(|| "*".to_string()).into_iter().collect();
        parts.extend(self.rules.iter().map(|r| {
            let mut s = r.scheme.as_ref().map(|s| format!("{s}://")).unwrap_or_default();
            if r.subdomains {
                s.push_str("*.");
            }
            s.push_str(&r.host);
            if let Some(p) = r.port {
                s.push_str(&format!(":{p}"));
            }
            s
        }));
        if parts.is_empty() { f.write_str("none") } else { f.write_str(&parts.join(",")) }
    }
}

impl OriginRule {
    fn parse(rule: &str) -> Result<Self, AccessError> {
        let bad = |reason| AccessError::BadOrigin { rule: rule.to_string(), reason };
        let lower = rule.to_ascii_lowercase();
        let (scheme, rest) = match lower.split_once("://") {
            Some((s, rest))
                if !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                (Some(s.to_string()), rest)
            }
            Some(_) => return Err(bad("bad scheme")),
            None => (None, lower.as_str()),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(bad("an origin has no path"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("bad port"))?;
        let (host, subdomains) = match host.strip_prefix("*.") {
            Some(h) => (h, true),
            None => (host, false),
        };
        if host.is_empty() || host.contains('*') {
            return Err(bad("expected a host name, `*.name` or `*`"));
        }
        Ok(Self { scheme, host: host.to_string(), subdomains, port })
    }

    fn matches(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        self.scheme.as_deref().is_none_or(|s| s == scheme)
            && self.port.is_none_or(|p| Some(p) == port)
            && if self.subdomains {
                host.strip_suffix(self.host.as_str())
                    .is_some_and(|h| h.len() > 1 && h.ends_with('.'))
            } else {
                host == self.host
            }
    }
}

/// `scheme://host[:port]` of an `Origin` header, lower-cased; `None` for `null` or garbage.
fn split_origin(origin: &str) -> Option<(String, String, Option<u16>)> {
    let lower = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    let (host, port) = split_host_port(rest.strip_suffix('/').unwrap_or(rest))?;
    (!scheme.is_empty() && !host.is_empty() && !rest.contains('/'))
        .then(|| (scheme.to_string(), host.to_string(), port))
}

/// `host[:port]`, with `[v6]` brackets kept on the host; `None` if the port is not a number.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        let (h, rest) = s.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if rest.is_empty() => (h, None),
            None => return None,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    match port {
        Some(p) => Some((host, Some(p.parse().ok()?))),
        None => Some((host, None)),
    }
}

/// Host names plain HTTP requests may be addressed to (`--http.vhosts`); IP addresses
/// always pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualHosts {
    any: bool,
    names: Vec<String>,
}

impl Default for VirtualHosts {
    /// `localhost` (geth's default).
    fn default() -> Self {
        Self { any: false, names: vec!["localhost".into()] }
    }
}

impl VirtualHosts {
    /// Parses a list of host names or `*`; empty entries are skipped.
    pub fn parse<S: AsRef<str>>(list: impl IntoIterator<Item = S>) -> Result<Self, AccessError> {
        let mut out = Self { any: false, names: Vec::new() };
        for name in list {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue;
            }
            if name == "*" {
                out.any = true;
                continue;
            }
            if name.contains(['/', ':', '*']) {
                return Err(AccessError::BadHost(name.to_string()));
            }
            out.names.push(name.to_ascii_lowercase());
        }
        Ok(out)
    }

    /// Whether a request addressed to `host` (the `Host` header, port optional) is served.
    pub fn allows(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let Some((name, _)) = split_host_port(host.trim()) else { return false };
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok() {
            return true;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.names.contains(&name)
    }
}

impl std::fmt::Display for VirtualHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<&str> = self.any.then_some("*").into_iter().collect();
        parts.extend(self.names.iter().map(String::as_str));
        f.write_str(&parts.join(","))
    }
}

/// The three lists a server checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccessRules {
    pub(crate) cors: OriginRules,
    pub(crate) vhosts: VirtualHosts,
    pub(crate) ws_origins: OriginRules,
}

/// What to do with one request.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Answer with this status and body; the inner service never sees the request.
    Refuse(StatusCode, &'static str),
    /// A CORS preflight from an allowed origin: answer it here.
    Preflight(HeaderValue),
    /// Serve it; add `Access-Control-Allow-Origin` with this origin if set.
    Serve(Option<HeaderValue>),
}

impl AccessRules {
    fn verdict<B>(&self, req: &Request<B>) -> Verdict {
        let origin = req.headers().get(header::ORIGIN);
        let allowed = |rules: &OriginRules, o: &HeaderValue| {
            o.to_str().is_ok_and(|o| rules.allows(o) || is_extension(o))
        };
        if is_websocket_upgrade(req.headers()) {
            return match origin {
                Some(o) if !allowed(&self.ws_origins, o) => {
                    debug!(target: "bttc::rpc", origin = ?o, "WebSocket handshake refused: origin not allowed");
                    Verdict::Refuse(
                        StatusCode::FORBIDDEN,
                        "websocket: request origin not allowed\n",
                    )
                }
                _ => Verdict::Serve(None),
            };
        }
        let host = req.headers().get(header::HOST).map(|h| h.to_str().unwrap_or("\u{0}"));
        let host = host.or_else(|| req.uri().authority().map(|a| a.as_str()));
        if let Some(h) = host
            && !self.vhosts.allows(h)
        {
            debug!(target: "bttc::rpc", host = h, "request refused: host not allowed");
            return Verdict::Refuse(StatusCode::FORBIDDEN, "invalid host specified\n");
        }
        let Some(origin) = origin else { return Verdict::Serve(None) };
        if !allowed(&self.cors, origin) {
            debug!(target: "bttc::rpc", ?origin, "request refused: origin not allowed");
            return Verdict::Refuse(StatusCode::FORBIDDEN, "origin not allowed\n");
        }
        if req.method() == Method::OPTIONS
            && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Verdict::Preflight(origin.clone());
        }
        Verdict::Serve(Some(origin.clone()))
    }
}

/// Whether an origin is a browser extension's (a wallet's).
fn is_extension(origin: &str) -> bool {
    split_origin(origin).is_some_and(|(scheme, _, _)| {
        matches!(scheme.as_str(), "chrome-extension" | "moz-extension" | "safari-web-extension")
    })
}

/// Whether a request asks for a WebSocket upgrade.
pub(crate) fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    // `Upgrade` first: plain requests lack it, so they cost one header lookup.
    has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade")
}

/// Methods a cross-origin page may use (preflight answer).
const ALLOW_METHODS: &str = "POST, GET, OPTIONS";
/// How long a browser may cache a preflight answer, seconds (geth's 600).
const MAX_AGE: &str = "600";

fn preflight<B>(req: &Request<B>, origin: HeaderValue) -> Response<HttpBody> {
    let mut resp = Response::new(HttpBody::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
    // Any request headers are fine (geth allows `*`): echo what the browser asks for.
    let asked = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        asked.unwrap_or_else(|| HeaderValue::from_static("content-type")),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.append(header::VARY, HeaderValue::from_static("Access-Control-Request-Method"));
    h.append(header::VARY, HeaderValue::from_static("Access-Control-Request-Headers"));
    resp
}

fn refuse(status: StatusCode, body: &'static str) -> Response<HttpBody> {
    let mut resp = Response::new(HttpBody::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// The tower layer that applies [`AccessRules`] in front of the JSON-RPC service.
#[derive(Debug, Clone)]
pub(crate) struct AccessLayer(pub(crate) Arc<AccessRules>);

impl<S> tower::Layer<S> for AccessLayer {
    type Service = Access<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Access { inner, rules: Arc::clone(&self.0) }
    }
}

/// See [`AccessLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Access<S> {
    inner: S,
    rules: Arc<AccessRules>,
}

impl<S, B> tower::Service<Request<B>> for Access<S>
where
    S: tower::Service<Request<B>, Response = Response<HttpBody>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<HttpBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.rules.verdict(&req) {
            Verdict::Refuse(status, body) => Box::pin(std::future::ready(Ok(refuse(status, body)))),
            Verdict::Preflight(origin) => Box::pin(std::future::ready(Ok(preflight(&req, origin)))),
            Verdict::Serve(cors) => {
                let fut = self.inner.call(req);
                Box::pin(async move {
                    let mut resp = fut.await.map_err(Into::into)?;
                    if let Some(origin) = cors {
                        let h = resp.headers_mut();
                        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                        h.append(header::VARY, HeaderValue::from_static("Origin"));
                    }
                    Ok(resp)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().method(Method::POST).uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn origin_rules_follow_geth() {
        let local = OriginRules::local();
        for ok in [
            "http://localhost",
            "http://localhost:3000",
            "https://localhost:5173",
            "http://127.0.0.1:8080",
            "HTTP://LOCALHOST",
        ] {
            assert!(local.allows(ok), "{ok}");
        }
        for no in [
            "http://evil.com",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
            "null",
            "",
            "localhost",
        ] {
            assert!(!local.allows(no), "{no}");
        }
        let r = OriginRules::parse(["https://app.example.com:8443", "*.dapp.io", "http://x.org"])
            .unwrap();
        assert!(r.allows("https://app.example.com:8443"));
        assert!(!r.allows("http://app.example.com:8443"), "scheme given: must match");
        assert!(!r.allows("https://app.example.com"), "port given: must match");
        assert!(r.allows("https://a.dapp.io") && r.allows("http://b.c.dapp.io:1"));
        assert!(!r.allows("https://dapp.io") && !r.allows("https://evildapp.io"));
        assert!(r.allows("http://x.org:81"), "no port in the rule: any port");
        assert!(OriginRules::parse(["*"]).unwrap().allows("null"));
        assert!(!OriginRules::none().allows("http://localhost"));
        assert_eq!(OriginRules::parse(["", " "]).unwrap(), OriginRules::none());
        for bad in ["http://", "localhost:port", "http://a/b", "a*b.com", "://x"] {
            assert!(OriginRules::parse([bad]).is_err(), "{bad}");
        }
        assert_eq!(local.to_string(), "localhost,127.0.0.1");
    }

    #[test]
    fn virtual_hosts_allow_names_listed_and_any_address() {
        let v = VirtualHosts::default();
        for ok in [
            "localhost",
            "localhost:8545",
            "LOCALHOST.",
            "127.0.0.1:8545",
            "[::1]:8545",
            "10.1.2.3",
        ] {
            assert!(v.allows(ok), "{ok}");
        }
        for no in ["evil.com", "evil.com:8545", "localhost.evil.com", "a:b:c"] {
            assert!(!v.allows(no), "{no}");
        }
        let v = VirtualHosts::parse(["node.example.com"]).unwrap();
        assert!(v.allows("node.example.com:8545") && !v.allows("localhost"));
        assert!(VirtualHosts::parse(["*"]).unwrap().allows("anything"));
        assert!(VirtualHosts::parse(["http://x"]).is_err());
    }

    #[test]
    fn verdicts() {
        let rules = AccessRules {
            cors: OriginRules::local(),
            vhosts: VirtualHosts::default(),
            ws_origins: OriginRules::local(),
        };
        // No Origin: scripts and tools.
        assert_eq!(rules.verdict(&req(&[("host", "localhost:8545")])), Verdict::Serve(None));
        // DNS rebinding: a foreign name for this machine.
        assert!(matches!(
            rules.verdict(&req(&[("host", "attacker.example:8545")])),
            Verdict::Refuse(StatusCode::FORBIDDEN, "invalid host specified\n")
        ));
        let local = "http://localhost:3000";
        assert_eq!(
            rules.verdict(&req(&[("host", "127.0.0.1:8545"), ("origin", local)])),
            Verdict::Serve(Some(HeaderValue::from_static(local)))
        );
        assert!(matches!(
            rules.verdict(&req(&[("host", "127.0.0.1"), ("origin", "https://evil.com")])),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
        // Wallet extensions, whatever the lists say.
        let none = AccessRules::default();
        let metamask = "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn";
        assert_eq!(
            none.verdict(&req(&[("origin", metamask)])),
            Verdict::Serve(Some(HeaderValue::from_static(metamask)))
        );
        assert!(matches!(
            none.verdict(&req(&[("origin", "http://localhost:3000")])),
            Verdict::Refuse(..)
        ));
        let mut pre = req(&[("origin", local), ("access-control-request-method", "POST")]);
        *pre.method_mut() = Method::OPTIONS;
        assert_eq!(rules.verdict(&pre), Verdict::Preflight(HeaderValue::from_static(local)));
        // WebSocket handshakes: origin only.
        let ws = |origin| {
            let mut h = vec![("connection", "keep-alive, Upgrade"), ("upgrade", "websocket")];
            h.push(("host", "whatever.example"));
            if let Some(o) = origin {
                h.push(("origin", o));
            }
            rules.verdict(&req(&h))
        };
        assert_eq!(ws(None), Verdict::Serve(None));
        assert_eq!(ws(Some("http://127.0.0.1:5173")), Verdict::Serve(None));
        assert!(matches!(ws(Some("https://evil.com")), Verdict::Refuse(StatusCode::FORBIDDEN, _)));
    }
}
