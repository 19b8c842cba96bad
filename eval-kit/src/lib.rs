//! Verification metrics and protocols.
