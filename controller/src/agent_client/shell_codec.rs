//! [`ShellCodec`]: Slicer's shell framing as a tokio codec, over the pure
//! encoder and decoder in `slicer_api::types::shell`.

use bytes::{Buf, BytesMut};
use slicer_api::types::{ShellFrame, ShellFrameError};
use tokio_util::codec::{Decoder, Encoder};

/// Why a shell stream failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ShellCodecError {
    /// shell stream i/o failed
    Io(#[from] std::io::Error),
    /// the agent sent a malformed shell frame
    Frame(#[from] ShellFrameError),
}

/// Encodes and decodes [`ShellFrame`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShellCodec;

impl Decoder for ShellCodec {
    type Item = ShellFrame;
    type Error = ShellCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ShellFrame>, ShellCodecError> {
        match ShellFrame::decode(src)? {
            Some((frame, used)) => {
                src.advance(used);
                Ok(Some(frame))
            }
            None => Ok(None),
        }
    }
}

impl Encoder<ShellFrame> for ShellCodec {
    type Error = ShellCodecError;

    fn encode(&mut self, frame: ShellFrame, dst: &mut BytesMut) -> Result<(), ShellCodecError> {
        let mut out = Vec::new();
        frame.encode_into(&mut out);
        dst.extend_from_slice(&out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_across_partial_reads() {
        let mut codec = ShellCodec;
        let mut wire = BytesMut::new();
        codec
            .encode(ShellFrame::Data(b"hi".to_vec()), &mut wire)
            .unwrap();
        codec.encode(ShellFrame::Close, &mut wire).unwrap();
        let mut src = BytesMut::from(&wire[..3]);
        assert_eq!(codec.decode(&mut src).unwrap(), None);
        src.extend_from_slice(&wire[3..]);
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(ShellFrame::Data(b"hi".to_vec()))
        );
        assert_eq!(codec.decode(&mut src).unwrap(), Some(ShellFrame::Close));
        assert!(src.is_empty());
    }
}
