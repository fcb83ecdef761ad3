//! The page a person sees where a program gets [`caller_body`]'s JSON, made from the
//! caller the guard admitted: the template is `example-page`'s, which renders plain
//! values (so the load benchmark's floor can serve the same page with no guard).
//!
//! Which requests get it is core's rule, not a second one here:
//! [`RequestInfo::is_navigation`](mfa_guard_core::RequestInfo::is_navigation), the
//! same by which browser mode answers with redirects and pages. Every other request
//! keeps its JSON byte for byte.

use std::sync::Arc;

pub use example_page::{Links, PAGE_HEADERS};
use mfa_guard_core::{Guard, Principal, Role};

use crate::caller_body;

/// The name and title of what no area covers (its page's title is the example's).
pub const UNMATCHED: (&str, &str) = ("unmatched", "mfa-guard example");

/// The links of a server with `guard`, embedding the development issuer or not:
/// the sign-out button posts to the guard's
/// [`sign_out_path`](mfa_guard_core::Guard::sign_out_path) (none without browser
/// mode); in development mode, "Sign out at the provider" leads to the development
/// issuer's end-session page.
pub fn links(guard: &Guard, development: bool) -> Links {
    Links {
        sign_out: guard.sign_out_path().map(Arc::from),
        provider_sign_out: (development && guard.sign_out_path().is_some())
            .then(|| Arc::from(format!("{}/sign-out", mfa_guard_dev::DEV_SIGN_IN_PREFIX))),
    }
}

/// The page of the area `area` titled `title` for a top-level navigation: who is
/// signed in (name or user name, object id, kind, roles, MFA level), the sign-out
/// controls of `links`, and the JSON a program calling the same address gets.
pub fn caller_page(
    area: &str,
    title: &str,
    method: &str,
    path: &str,
    caller: Option<&Principal>,
    links: &Links,
) -> String {
    let answer = caller_body(area, method, path, caller).to_string();
    let shown = caller.map(|p| example_page::Caller {
        name: p.claims().name(),
        upn: p.upn(),
        oid: p.oid(),
        kind: p.kind().as_str(),
        roles: p.roles().map(Role::name).collect(),
        level: p.assurance_level(),
        report_only: p.report_only_refusal().map(|would| (would.code().as_str(), would.status())),
    });
    example_page::render(title, path, &answer, shown.as_ref(), links)
}
