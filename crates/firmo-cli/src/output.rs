//! The one place firmo writes results to stdout (logs and progress go to stderr).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

/// Whether anything reached stdout: `--json` prints an error object only on an empty
/// stdout, so a failed run's output is still one JSON document.
static PRINTED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout. A closed pipe (`firmo report | head`) is not an error.
pub(crate) fn print(text: &str) -> std::io::Result<()> {
    PRINTED.store(true, Ordering::Release);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes `value` as pretty JSON and a newline.
pub(crate) fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print(&text)?;
    Ok(())
}

/// Whether [`print`] has written anything.
pub(crate) fn printed() -> bool {
    PRINTED.load(Ordering::Acquire)
}

/// Longest error text shown. Errors can quote their input (a CSV field, a response
/// body); past this, the rest is cut and its size said instead.
pub(crate) const MAX_ERROR_CHARS: usize = 2_000;

/// An error and its causes as one line, `outer: cause: cause`, leaving out a cause whose
/// text the line already holds (a wrapper that prints its source as well as exposing
/// it would otherwise show it twice: `file is not a database: file is not a database`),
/// and cut at [`MAX_ERROR_CHARS`].
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(part.trim()) {
            continue;
        }
        // A cause that restates the end of the line with more (rusqlite's "Error code
        // 26: file is not a database" under "…: file is not a database") replaces that end.
        let starts = std::iter::once(0).chain(text.match_indices(": ").map(|(i, _)| i + 2));
        let restated = starts
            .filter(|at| *at < text.len())
            .find(|at| part.contains(text[*at..].trim()));
        match restated {
            Some(at) => text.truncate(at),
            None if !text.is_empty() => text.push_str(": "),
            None => {}
        }
        text.push_str(&part);
    }
    cap(&text, MAX_ERROR_CHARS)
}

/// `text` cut to `max` characters, saying how much was left out.
pub(crate) fn cap(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({} more characters not shown)", total - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrapper that prints its source in its own message, as many library errors do.
    #[derive(Debug)]
    struct Wrapper(Inner);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "opening state.db: {}", self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[derive(Debug)]
    struct Inner;

    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("file is not a database")
        }
    }

    impl std::error::Error for Inner {}

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = anyhow::Error::new(Wrapper(Inner)).context("firmo sync");
        assert_eq!(
            error_text(&e),
            "firmo sync: opening state.db: file is not a database"
        );
        let plain = anyhow::Error::new(Inner).context("reading the cache");
        assert_eq!(
            error_text(&plain),
            "reading the cache: file is not a database"
        );
    }

    #[test]
    fn long_errors_are_cut_and_say_so() {
        let e = anyhow::anyhow!("bad row: {}", "x".repeat(50_000));
        let text = error_text(&e);
        assert!(
            text.chars().count() < MAX_ERROR_CHARS + 60,
            "{}",
            text.len()
        );
        assert!(
            text.ends_with("(48009 more characters not shown)"),
            "{}",
            &text[text.len() - 60..]
        );
    }
}
