//! [`AgentClient::upgrade`]: switch an agent connection to a raw byte
//! stream (HTTP/1.1 upgrade), and the shell and forward calls built on it.

use http::{Method, StatusCode, header};
use hyper_util::rt::TokioIo;
use slicer_api::types::{
    FORWARD_UPGRADE_PROTOCOL, FORWARD_UPSTREAM_HEADER, ForwardTarget, SHELL_UPGRADE_PROTOCOL,
    ShellQuery,
};
use tokio_util::codec::Framed;

use super::body::empty_body;
use super::client::{AgentClient, agent_error, request, with_query};
use super::error::AgentClientError;
use super::shell_codec::ShellCodec;

/// A raw, bidirectional byte stream to the agent after an upgrade.
pub type AgentStream = TokioIo<hyper::upgrade::Upgraded>;

/// A shell session: send and receive [`slicer_api::types::ShellFrame`]s
/// (`futures_util::SinkExt::send`, `StreamExt::next`).
pub type ShellSession = Framed<AgentStream, ShellCodec>;

impl AgentClient {
    /// `GET path_and_query` with `Upgrade: protocol` plus `headers`, and the
    /// raw stream once the agent answers 101. Any other answer is an error
    /// carrying the agent's message.
    pub async fn upgrade(
        &self,
        path_and_query: &str,
        protocol: &str,
        headers: &[(&str, &str)],
    ) -> Result<AgentStream, AgentClientError> {
        let op = format!("GET {} (upgrade {protocol})", path_only(path_and_query));
        let mut request = request(Method::GET, path_and_query)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, protocol);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.send(request, empty_body(), &op).await?;
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            return Err(agent_error(response, &op).await);
        }
        let upgraded = hyper::upgrade::on(response)
            .await
            .map_err(self.http_error(&op))?;
        Ok(TokioIo::new(upgraded))
    }

    /// Start an interactive shell on a PTY in the guest. Send data and
    /// window-size frames; the agent sends data frames and, when the shell
    /// exits, a close frame before it closes the stream.
    pub async fn shell(&self, query: &ShellQuery) -> Result<ShellSession, AgentClientError> {
        let uri = with_query("/v1/shell", query, "GET /v1/shell")?;
        let stream = self.upgrade(&uri, SHELL_UPGRADE_PROTOCOL, &[]).await?;
        Ok(Framed::new(stream, ShellCodec))
    }

    /// Open one tunnel to `target` inside the guest. A target that cannot
    /// be dialled is an error with status 502.
    pub async fn forward(&self, target: &ForwardTarget) -> Result<AgentStream, AgentClientError> {
        let target = target.to_string();
        self.upgrade(
            "/v1/forward",
            FORWARD_UPGRADE_PROTOCOL,
            &[(FORWARD_UPSTREAM_HEADER, target.as_str())],
        )
        .await
    }
}

fn path_only(path_and_query: &str) -> &str {
    path_and_query
        .split_once('?')
        .map_or(path_and_query, |(path, _)| path)
}
