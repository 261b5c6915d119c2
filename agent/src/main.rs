//! `slicer-agent`: the guest agent.

fn main() {}
