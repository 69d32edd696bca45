//! The small closed vocabularies the store keeps as text columns (each column has a
//! matching `CHECK` constraint in the schema, so a typo can't reach the file).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// Defines a text-backed enum: its names, parsing, `Display`, serde and SQLite mapping.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name stored in the file and shown in reports.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses a stored name.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                $name::parse(text).ok_or_else(|| {
                    FromSqlError::Other(format!(concat!("unknown ", $what, " {:?}"), text).into())
                })
            }
        }
    };
}

text_enum! {
    /// What a provider answered for one company.
    LookupStatus, "lookup status" {
        /// The provider knows the company; the records hold what it said.
        Hit = "hit",
        /// The provider has no company for this key: a real answer, cached like a hit.
        Miss = "miss",
        /// Accepted but not answered yet: ask again, no sooner than `retry_after`.
        Pending = "pending",
        /// The lookup failed (after the connector's own retries).
        Error = "error",
    }
}

text_enum! {
    /// How a run ended.
    RunOutcome, "run outcome" {
        /// Every account ended written, unchanged or skipped.
        Ok = "ok",
        /// The run finished but some accounts were rejected or failed.
        Partial = "partial",
        /// The run stopped on an error.
        Failed = "failed",
        /// The run never recorded an end (killed, crashed, or still running).
        Interrupted = "interrupted",
    }
}

text_enum! {
    /// The one outcome each account gets in a run.
    Outcome, "account outcome" {
        /// firmo changed at least one CRM property.
        Written = "written",
        /// Everything firmo would write was already there.
        Unchanged = "unchanged",
        /// Not processed this run (segment filter, refresh window, budget): see `reason`.
        Skipped = "skipped",
        /// A validation rule refused the values: `reason` names the rule.
        Rejected = "rejected",
        /// An error stopped this account: `reason` names it.
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for status in LookupStatus::ALL {
            assert_eq!(LookupStatus::parse(status.as_str()), Some(*status));
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(*outcome));
            assert_eq!(
                serde_json::to_string(outcome).unwrap(),
                format!("\"{outcome}\"")
            );
        }
        for outcome in RunOutcome::ALL {
            assert_eq!(RunOutcome::parse(outcome.as_str()), Some(*outcome));
            assert_eq!(
                serde_json::to_string(outcome).unwrap(),
                format!("\"{outcome}\"")
            );
        }
        assert_eq!(LookupStatus::parse("Hit"), None, "stored names are exact");
    }

    #[test]
    fn unknown_stored_text_is_an_error_naming_it() {
        let err = LookupStatus::column_result(ValueRef::Text(b"maybe")).unwrap_err();
        assert_eq!(err.to_string(), "unknown lookup status \"maybe\"");
        assert!(Outcome::column_result(ValueRef::Integer(1)).is_err());
    }
}
