//! Guest features through the daemon (filled in below).
