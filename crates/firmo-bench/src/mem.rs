//! Resident memory from `/proc/<pid>/status` (Linux): `VmRSS` now and `VmHWM`, the
//! peak since the process started (or since the peak was last reset).

use std::fmt;

/// A number of bytes, printed in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Bytes(pub(crate) u64);

impl Bytes {
    pub(crate) fn mib(self) -> f64 {
        self.0 as f64 / (1024.0 * 1024.0)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} MiB", self.mib())
    }
}

/// `VmRSS` and `VmHWM` of one process at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Rss {
    pub(crate) current: Bytes,
    pub(crate) peak: Bytes,
}

/// Reads `/proc/self/status`; `None` where there is no procfs (not Linux).
pub(crate) fn own() -> Option<Rss> {
    parse_status(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The two fields of a status file; both must be there.
pub(crate) fn parse_status(status: &str) -> Option<Rss> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            // "   123456 kB": the kernel always reports kibibytes here.
            let kib: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
            Some(Bytes(kib * 1024))
        })
    };
    Some(Rss {
        current: field("VmRSS")?,
        peak: field("VmHWM")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_peak_in_kibibytes() {
        let status = "Name:\tfirmo-bench\nVmPeak:\t  900000 kB\nVmHWM:\t   204800 kB\nVmRSS:\t   102400 kB\n";
        let rss = parse_status(status).unwrap();
        assert_eq!(rss.current, Bytes(100 * 1024 * 1024));
        assert_eq!(rss.peak, Bytes(200 * 1024 * 1024));
        assert_eq!(rss.peak.to_string(), "200.0 MiB");
    }

    #[test]
    fn a_missing_or_garbled_field_is_none() {
        assert_eq!(parse_status("VmRSS:\t 10 kB\n"), None);
        assert_eq!(parse_status("VmRSS:\t ten kB\nVmHWM:\t 10 kB\n"), None);
        // `VmRSSX` is not `VmRSS`.
        assert_eq!(parse_status("VmRSSX:\t 1 kB\nVmHWM:\t 1 kB\n"), None);
    }

    #[test]
    fn this_process_has_a_status_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = own().expect("procfs on Linux");
            assert!(rss.current.0 > 0 && rss.peak >= rss.current);
        }
    }
}
