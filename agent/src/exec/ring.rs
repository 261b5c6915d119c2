//! [`FrameRing`]: the bounded log of one background exec. Frames get
//! monotonic ids; the oldest are evicted when the ring is full, and a
//! replay from an evicted id starts with a `gap` frame saying what was lost.

use std::collections::VecDeque;

use bytes::Bytes;
use slicer_api::types::{ExecFrame, ExecFrameKind};

/// One stored frame: its id and its NDJSON line (newline included).
#[derive(Debug, Clone)]
struct StoredFrame {
    id: u64,
    line: Bytes,
}

/// A byte-bounded ring of NDJSON frames.
#[derive(Debug)]
pub struct FrameRing {
    capacity_bytes: u64,
    frames: VecDeque<StoredFrame>,
    held_bytes: u64,
    next_id: u64,
    bytes_written: u64,
    bytes_dropped: u64,
    frames_dropped: u64,
}

/// What a replay yields: an optional gap frame, then frames in id order.
#[derive(Debug, Default)]
pub struct Replay {
    /// NDJSON lines to send, the gap first when there is one.
    pub lines: Vec<Bytes>,
    /// The id to continue from on the next replay.
    pub next_id: u64,
}

impl FrameRing {
    /// An empty ring holding at most `capacity_bytes` of frames.
    pub fn new(capacity_bytes: u64) -> Self {
        Self {
            capacity_bytes,
            frames: VecDeque::new(),
            held_bytes: 0,
            next_id: 1,
            bytes_written: 0,
            bytes_dropped: 0,
            frames_dropped: 0,
        }
    }

    /// Store `frame` with the next id, evicting the oldest frames to make
    /// room. A frame larger than the whole ring is counted as dropped.
    pub fn push(&mut self, mut frame: ExecFrame) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        frame.id = Some(id);
        let mut line = serde_json::to_vec(&frame).unwrap_or_else(|_| b"{}".to_vec());
        line.push(b'\n');
        let len = line.len() as u64;
        self.bytes_written += len;
        if len > self.capacity_bytes {
            self.bytes_dropped += len;
            self.frames_dropped += 1;
            return id;
        }
        while self.held_bytes + len > self.capacity_bytes {
            let Some(old) = self.frames.pop_front() else {
                break;
            };
            self.held_bytes -= old.line.len() as u64;
            self.bytes_dropped += old.line.len() as u64;
            self.frames_dropped += 1;
        }
        self.held_bytes += len;
        self.frames.push_back(StoredFrame {
            id,
            line: Bytes::from(line),
        });
        id
    }

    /// Frames with id ≥ `from_id`. When some of them were evicted, a gap
    /// frame comes first. `dropped_frames` is exact; `dropped_bytes` is
    /// exact when the replay starts at the first frame ever written and an
    /// upper bound (everything evicted so far) otherwise, since evicted
    /// frames' sizes are not kept.
    pub fn replay(&self, from_id: u64) -> Replay {
        let from_id = from_id.max(1);
        let oldest = self.frames.front().map_or(self.next_id, |f| f.id);
        let mut lines = Vec::new();
        if from_id < oldest && from_id < self.next_id {
            let dropped_frames = oldest - from_id;
            let gap = ExecFrame {
                kind: Some(ExecFrameKind::Gap),
                dropped_bytes: Some(self.bytes_dropped),
                dropped_frames: Some(dropped_frames),
                message: Some(format!(
                    "frames {from_id}..{} were evicted from the ring; continuing at {oldest}",
                    oldest - 1
                )),
                ..ExecFrame::default()
            };
            let mut line = serde_json::to_vec(&gap).unwrap_or_else(|_| b"{}".to_vec());
            line.push(b'\n');
            lines.push(Bytes::from(line));
        }
        lines.extend(
            self.frames
                .iter()
                .filter(|f| f.id >= from_id)
                .map(|f| f.line.clone()),
        );
        Replay {
            lines,
            next_id: self.next_id.max(from_id),
        }
    }

    /// Id the next frame will get.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Bytes of frames ever written.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Bytes of frames evicted (or too large to store).
    pub fn bytes_dropped(&self) -> u64 {
        self.bytes_dropped
    }

    /// The ring's size.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }
}

#[cfg(test)]
mod tests {
    use slicer_api::types::OutputEncoding;

    use super::*;

    fn out(data: &str) -> ExecFrame {
        ExecFrame::output(
            ExecFrameKind::Stdout,
            data.into(),
            OutputEncoding::Text,
            "t".into(),
        )
    }

    fn frames(replay: &Replay) -> Vec<ExecFrame> {
        replay
            .lines
            .iter()
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn ids_are_monotonic_and_replay_is_complete_without_eviction() {
        let mut ring = FrameRing::new(1 << 20);
        for i in 0..5 {
            assert_eq!(ring.push(out(&i.to_string())), i + 1);
        }
        let replay = ring.replay(0);
        let got = frames(&replay);
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].id, Some(1));
        assert_eq!(replay.next_id, 6);
        assert_eq!(frames(&ring.replay(4)).len(), 2);
        assert_eq!(ring.bytes_dropped(), 0);
    }

    #[test]
    fn eviction_keeps_the_newest_and_reports_a_gap() {
        let one = {
            let mut probe = FrameRing::new(1 << 20);
            probe.push(out("xxxxxxxxxx"));
            probe.bytes_written()
        };
        // Ids 1..=9 have one digit, so every frame has the same size.
        let mut ring = FrameRing::new(one * 3);
        for _ in 0..9 {
            ring.push(out("xxxxxxxxxx"));
        }
        assert_eq!(ring.bytes_written(), one * 9);
        assert_eq!(ring.bytes_dropped(), one * 6);
        let got = frames(&ring.replay(1));
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].kind, Some(ExecFrameKind::Gap));
        assert_eq!(got[0].dropped_frames, Some(6));
        assert_eq!(got[0].dropped_bytes, Some(one * 6));
        assert_eq!(got[1].id, Some(7));
        // Starting inside the held range: no gap.
        let got = frames(&ring.replay(8));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, Some(8));
        // Starting past the end: nothing, and no gap.
        assert!(ring.replay(10).lines.is_empty());
    }

    #[test]
    fn a_frame_larger_than_the_ring_is_dropped_not_stored() {
        let mut ring = FrameRing::new(16);
        ring.push(out("this frame is far longer than sixteen bytes"));
        assert!(ring.bytes_dropped() > 16);
        assert_eq!(ring.next_id(), 2);
        let got = frames(&ring.replay(1));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, Some(ExecFrameKind::Gap));
    }
}
