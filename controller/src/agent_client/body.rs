//! Request bodies for agent calls: empty, in-memory, or streamed from any
//! `AsyncRead` without buffering it whole.

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

/// The body type of every request the agent client sends.
pub type RequestBody = BoxBody<Bytes, std::io::Error>;

/// A body with no bytes.
pub fn empty_body() -> RequestBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A body holding `bytes`.
pub fn full_body(bytes: impl Into<Bytes>) -> RequestBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A body streamed from `reader` in chunks, as it is read.
pub fn reader_body<R: AsyncRead + Send + Sync + 'static>(reader: R) -> RequestBody {
    let frames = ReaderStream::with_capacity(reader, 256 * 1024).map_ok(Frame::data);
    BodyExt::boxed(StreamBody::new(frames))
}
