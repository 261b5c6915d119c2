//! Middleware shared by the routes: bearer-token auth, time budgets and
//! request metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;
use crate::server::ApiError;

/// Answer 401 unless the request carries `Authorization: Bearer <token>`.
pub(super) async fn require_token(
    State(token): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(given) if same_secret(given.as_bytes(), token.as_bytes()) => next.run(request).await,
        Some(_) => ApiError::unauthorized("invalid bearer token").into_response(),
        None => ApiError::unauthorized(
            "missing bearer token: send Authorization: Bearer <token> (the token is in <data-dir>/auth/token)",
        )
        .into_response(),
    }
}

/// Compare without an early exit, so the time taken does not tell how much
/// of a guessed token was right.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, byte) in expected.iter().enumerate() {
        diff |= usize::from(byte ^ given.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// Answer 503 when the handler takes longer than its budget.
pub(super) async fn time_budget(
    State(budget): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let what = format!("{} {}", request.method(), request.uri().path());
    match tokio::time::timeout(budget, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(format!(
            "{what} did not finish within {}s",
            budget.as_secs()
        ))
        .into_response(),
    }
}

/// Count every answered request for `/metrics`.
pub(super) async fn observe(
    State(backend): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    backend.observe_request(
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }
}
