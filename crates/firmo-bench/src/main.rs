//! firmo-bench: see `--help`.

fn main() {}
