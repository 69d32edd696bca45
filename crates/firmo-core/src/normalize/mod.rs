//! Normalizers: provider values in, canonical values out.
