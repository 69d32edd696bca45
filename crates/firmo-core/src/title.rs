//! Job titles: which ones name an executive-engineering role. Pure word matching (no
//! model, no list of companies), so the browser and the engine classify alike.
//!
//! Titles are compared as lowercase words (`"VP, Engineering"` is `vp engineering`), so
//! "Director" never matches "cto" inside it. A title that names the role only as
//! someone else's ("Executive Assistant to the CTO", "Chief of Staff to the CTO") or a
//! past one ("Former CTO", "Ex-CTO") is not the role.

use serde::Serialize;

/// An executive role in engineering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineeringExec {
    /// "CTO", "Chief Technology Officer", "Chief Technical Officer".
    Cto,
    /// "VP Engineering", "SVP of Eng", "Vice President, Engineering".
    VpEngineering,
    /// "Head of Engineering", "Engineering Head". Below a VP at most companies, but the
    /// top engineering role at many startups.
    HeadOfEngineering,
}

impl EngineeringExec {
    /// Every role, in the order above.
    pub const ALL: [EngineeringExec; 3] = [
        EngineeringExec::Cto,
        EngineeringExec::VpEngineering,
        EngineeringExec::HeadOfEngineering,
    ];

    /// Whether the `exec_change` signal counts this role: CTOs and VPs of Engineering (the
    /// product design's "new VP Engineering or CTO"). A head of engineering is classified
    /// but not counted, so the signal keeps its documented meaning.
    pub fn counts_for_exec_change(self) -> bool {
        matches!(self, EngineeringExec::Cto | EngineeringExec::VpEngineering)
    }
}

/// The executive-engineering role `title` names, if any.
pub fn engineering_exec(title: &str) -> Option<EngineeringExec> {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // "Former CTO", "ex-CTO": a past role. "Assistant to the CTO": someone else's.
    if words
        .first()
        .is_some_and(|w| matches!(*w, "former" | "ex" | "previously" | "retired"))
        || words
            .windows(2)
            .any(|w| w == ["to", "the"] || w == ["assistant", "to"])
    {
        return None;
    }
    let phrase = |p: &[&str]| words.windows(p.len()).any(|w| w == p);
    let engineering = |w: Option<&&str>| matches!(w, Some(&("engineering" | "eng")));
    if phrase(&["cto"])
        || phrase(&["chief", "technology", "officer"])
        || phrase(&["chief", "technical", "officer"])
    {
        return Some(EngineeringExec::Cto);
    }
    let vp_at = |i: usize| match words.get(i) {
        Some(&("vp" | "svp" | "evp")) => Some(i + 1),
        Some(&"vice") if words.get(i + 1) == Some(&"president") => Some(i + 2),
        _ => None,
    };
    let after_of = |j: usize| {
        if words.get(j) == Some(&"of") {
            j + 1
        } else {
            j
        }
    };
    if (0..words.len())
        .filter_map(vp_at)
        .any(|j| engineering(words.get(after_of(j))))
    {
        return Some(EngineeringExec::VpEngineering);
    }
    let head = (0..words.len()).any(|i| {
        (words[i] == "head" && engineering(words.get(after_of(i + 1))))
            || (engineering(words.get(i)) && words.get(i + 1) == Some(&"head"))
    });
    head.then_some(EngineeringExec::HeadOfEngineering)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executive_engineering_titles() {
        let cases = [
            ("CTO", Some(EngineeringExec::Cto)),
            ("Co-founder & CTO", Some(EngineeringExec::Cto)),
            ("Chief Technology Officer", Some(EngineeringExec::Cto)),
            ("chief technical officer, EMEA", Some(EngineeringExec::Cto)),
            ("VP Engineering", Some(EngineeringExec::VpEngineering)),
            ("VP, Engineering", Some(EngineeringExec::VpEngineering)),
            ("SVP of Eng", Some(EngineeringExec::VpEngineering)),
            (
                "Vice President of Engineering",
                Some(EngineeringExec::VpEngineering),
            ),
            (
                "Head of Engineering",
                Some(EngineeringExec::HeadOfEngineering),
            ),
            ("Engineering Head", Some(EngineeringExec::HeadOfEngineering)),
            ("Director", None),
            ("VP Sales", None),
            ("Engineering Manager", None),
            ("Head of Sales", None),
            ("Chief Executive Officer", None),
            ("Vice Engineering", None),
            ("Former CTO", None),
            ("Ex-CTO, now advisor", None),
            ("Executive Assistant to the CTO", None),
            ("", None),
        ];
        for (title, expected) in cases {
            assert_eq!(engineering_exec(title), expected, "{title:?}");
        }
    }

    #[test]
    fn only_ctos_and_vps_count_for_the_signal() {
        assert!(EngineeringExec::Cto.counts_for_exec_change());
        assert!(EngineeringExec::VpEngineering.counts_for_exec_change());
        assert!(!EngineeringExec::HeadOfEngineering.counts_for_exec_change());
    }
}
