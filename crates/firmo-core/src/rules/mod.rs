//! Quality rules, one file per rule, registered in `codes.rs`.
