//! The end-to-end test rig: boots real guests for the tests in `e2e/`.
