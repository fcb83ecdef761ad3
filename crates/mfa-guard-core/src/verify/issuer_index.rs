//! How a token finds its issuer among many without trying each.
//!
//! An exact issuer matches only its own string, so exact issuers are looked up by
//! `iss`. A `{tenantid}` template matches `iss` only where `iss` is the template's
//! text before the placeholder, the token's `tid` (a GUID), and the text after it;
//! so the places where `tid` occurs in `iss` split `iss` into the only
//! (before, after) pairs a template can have, and templates are looked up by that
//! pair. Issuers whose identity discovery declares later cannot be indexed when the
//! verifier is built; they are tried one by one (deployments have one or two).
//!
//! Of several matching issuers the first configured wins, as it did when every
//! issuer was tried in order: the index keeps each string's first issuer, and the
//! verifier takes the lowest position among the matches.

use std::collections::HashMap;

use super::IssuerPattern;

/// Configured issuers by their text; the others by position.
#[derive(Debug, Clone, Default)]
pub(super) struct IssuerIndex {
    exact: HashMap<Box<str>, usize>,
    /// Templates by the text before the placeholder, then the text after it.
    templates: HashMap<Box<str>, HashMap<Box<str>, usize>>,
    /// Every configured template, in order (to word a refusal only).
    pub(super) template_positions: Vec<usize>,
    /// Issuers that discovery declares, in order.
    pub(super) declared: Vec<usize>,
}

impl IssuerIndex {
    /// Indexes the issuers' configured patterns, in order (`None`: declared by
    /// discovery).
    pub(super) fn new<'a>(configured: impl IntoIterator<Item = Option<&'a IssuerPattern>>) -> Self {
        let mut index = Self::default();
        for (position, pattern) in configured.into_iter().enumerate() {
            let Some(pattern) = pattern else {
                index.declared.push(position);
                continue;
            };
            match pattern.template_parts() {
                None => {
                    index.exact.entry(pattern.as_str().into()).or_insert(position);
                }
                Some((before, after)) => {
                    index.template_positions.push(position);
                    index.templates.entry(before.into()).or_default().entry(after.into()).or_insert(position);
                }
            }
        }
        index
    }

    /// The first configured exact issuer that is `iss`.
    pub(super) fn exact(&self, iss: &str) -> Option<usize> {
        self.exact.get(iss).copied()
    }

    /// The first configured template that `iss` fills with `tid`, which must be a
    /// GUID (checked by the caller).
    pub(super) fn template(&self, iss: &str, tid: &str) -> Option<usize> {
        let (haystack, needle) = (iss.as_bytes(), tid.as_bytes());
        if self.templates.is_empty() || needle.is_empty() || haystack.len() < needle.len() {
            return None;
        }
        // Every occurrence, overlapping ones too; `tid` is ASCII, so each starts and
        // ends on a character boundary of `iss`.
        (0..=haystack.len() - needle.len())
            .filter(|&at| haystack[at..].starts_with(needle))
            .filter_map(|at| self.templates.get(&iss[..at])?.get(&iss[at + needle.len()..]).copied())
            .min()
    }
}
