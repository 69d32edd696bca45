//! Punycode (RFC 3492).
