//! The HTTP/1.1 upgrade handshake shared by the shell and forward
//! endpoints: check the request asks for our protocol, answer 101, and hand
//! the raw connection to a task once hyper releases it.

use std::future::Future;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;

use crate::error::AgentError;

/// The raw stream after the 101.
pub type UpgradedIo = TokioIo<hyper::upgrade::Upgraded>;

fn asks_for(headers: &HeaderMap, protocol: &str) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    let protocol_matches = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(protocol));
    connection_upgrade && protocol_matches
}

/// Check that `request` asks to upgrade to `protocol` (426 otherwise).
pub fn check(request: &Request, protocol: &'static str) -> Result<(), AgentError> {
    if asks_for(request.headers(), protocol) {
        Ok(())
    } else {
        Err(AgentError::UpgradeRequired(protocol))
    }
}

/// Answer 101 and run `session` on the raw connection once it is free.
pub fn switch<F, Fut>(mut request: Request, protocol: &'static str, session: F) -> Response
where
    F: FnOnce(UpgradedIo) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => session(TokioIo::new(upgraded)).await,
            Err(err) => tracing::warn!(error = %err, protocol, "connection upgrade failed"),
        }
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [(header::CONNECTION, "upgrade"), (header::UPGRADE, protocol)],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn needs_both_connection_and_upgrade_headers() {
        let mut h = HeaderMap::new();
        assert!(!asks_for(&h, "slicer-shell"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("slicer-shell"));
        assert!(asks_for(&h, "slicer-shell"));
        assert!(!asks_for(&h, "slicer-forward"));
    }
}
