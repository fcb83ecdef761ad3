//! How a request finds its rule without looking at every rule.
//!
//! A pattern's literal part can match a path in only a few ways (see
//! [`PathPattern::matches`]): an exact pattern when the literal is the whole path; a
//! prefix pattern when the literal is the whole path or the part of it before one of
//! its `/` (the root wildcard's literal is empty: the part before the leading `/`).
//! So the candidates of a path are its own text and its prefixes that end before a
//! `/`, at most one of each length. Trying them longest first and, within one
//! literal, exact before prefix and in the rules' compiled order, meets the rules in
//! exactly the order of the sorted list (longest literal, exact before prefix, a rule
//! naming methods before one that does not, then the order written): the first that
//! admits the method is the rule a scan of that list would find.
//!
//! Literals are kept by length, each length's sorted, so a candidate costs a binary
//! search among the literals of its own length (none at all for a length no literal
//! has): a few comparisons of short strings, growing with the logarithm of the table,
//! where a hash would cost more than a whole small table's search.
//!
//! The same index, built over the rules' [confusable forms](PathPattern::confusable_form),
//! answers which rules a path's confusable key falls under.

use super::routes::PathPattern;

/// The rules (their positions in the compiled, sorted list) under one literal.
#[derive(Debug, Default)]
struct Bucket {
    exact: Vec<usize>,
    prefix: Vec<usize>,
}

/// Rule positions by the literal part of their pattern.
#[derive(Debug, Default)]
pub(crate) struct RouteIndex {
    /// `by_length[n]`: the literals of `n` bytes, sorted, with their rules.
    by_length: Vec<Vec<(Box<str>, Bucket)>>,
}

impl RouteIndex {
    /// Indexes `patterns`, given in the order a scan would try them.
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a PathPattern>) -> Self {
        let mut literals: Vec<(&str, bool, usize)> = patterns
            .into_iter()
            .enumerate()
            .map(|(position, pattern)| match pattern {
                PathPattern::Exact(p) => (p.as_str(), true, position),
                PathPattern::Prefix(p) => (p.as_str(), false, position),
            })
            .collect();
        // Stable: the rules of one literal keep the order they are tried in.
        literals.sort_by(|a, b| a.0.cmp(b.0));
        let mut index = Self::default();
        for (literal, exact, position) in literals {
            if index.by_length.len() <= literal.len() {
                index.by_length.resize_with(literal.len() + 1, Vec::new);
            }
            let same_length = &mut index.by_length[literal.len()];
            if same_length.last().is_none_or(|(last, _)| **last != *literal) {
                same_length.push((literal.into(), Bucket::default()));
            }
            if let Some((_, bucket)) = same_length.last_mut() {
                if exact { &mut bucket.exact } else { &mut bucket.prefix }.push(position);
            }
        }
        index
    }

    /// The rules under exactly this literal.
    fn bucket(&self, literal: &str) -> Option<&Bucket> {
        let literals = self.by_length.get(literal.len())?;
        let at = literals.binary_search_by(|(l, _)| (**l).cmp(literal)).ok()?;
        Some(&literals[at].1)
    }

    /// Every rule position whose pattern matches `path`, in the order a scan of the
    /// sorted list meets them.
    pub(crate) fn matching<'s>(&'s self, path: &'s str) -> impl Iterator<Item = usize> + 's {
        // The ends of the candidate literals, longest first: the whole path, then
        // each `/` from the right.
        // (A byte loop: `rfind` costs more on paths this short.)
        let ends = std::iter::once(path.len())
            .chain(path.bytes().enumerate().rev().filter(|&(_, b)| b == b'/').map(|(i, _)| i));
        ends.filter_map(|end| Some((end, self.bucket(&path[..end])?))).flat_map(move |(end, bucket)| {
            let exact = if end == path.len() { &bucket.exact[..] } else { &[] };
            exact.iter().chain(&bucket.prefix).copied()
        })
    }
}
