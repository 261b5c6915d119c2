//! [`VmProbe`]: what a restarted daemon finds when it looks at a VM it
//! launched earlier, the same for every driver.

/// The state of a VMM found through its saved [`super::VmHandle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmProbe {
    /// The VMM process is gone: its pid is dead, or now belongs to another
    /// process (the start time differs).
    Gone,
    /// The VMM process runs but its control socket does not answer yet.
    Starting,
    /// The VMM process runs and its control socket answers.
    Running,
}
