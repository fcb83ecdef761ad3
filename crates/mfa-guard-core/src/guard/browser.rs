//! Browser mode's decisions (feature `browser`): where the guard hands a top-level
//! navigation, or the callback, sign-in and sign-out paths, to the session and the
//! provider. The mechanisms (sealed cookies, sessions, the provider, the pages) live
//! in `browser/`; what they decide with the policy lives here, beside the guard.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::{CACHE_CONTROL, SET_COOKIE};

use super::{Admission, Evaluation, Guard, PendingCheck};
use crate::answer::Answer;
use crate::browser::backchannel;
use crate::browser::flow::Flow;
use crate::browser::provider::{self, ProviderError, Ready};
use crate::browser::revoke::{Retired, RevokeError, STORE_RETRY_AFTER};
use crate::browser::session::Session;
use crate::browser::{
    BrowserMode, Callback, FLOW_LIFETIME, MFA_MAX_AGE, Opened, REFRESH_AFTER, StepUp, cache, cookie_value,
    encode, origin_of, pages, param, safe_return_to,
};
use crate::path::PathRules;
use crate::policy::CompiledRule;
use crate::principal::{HeaderMerge, LazyClaims};
use crate::rejection::RejectionCode;
use crate::request::RequestInfo;
use crate::revocation::{SessionId, Standing, StoreErrorKind};
use crate::time::NumericDate;

/// A step-up: what to ask the provider for, the level its answer must show, and
/// the account it must come back with.
#[derive(Debug, Clone)]
struct Ask {
    parameters: Vec<(&'static str, String)>,
    level: crate::policy::Rank,
    /// `sub` of the signed-in user, which the answer must carry.
    subject: Option<String>,
    /// Their user name, sent as `login_hint` so the provider asks that user again
    /// rather than offering to switch.
    login_hint: Option<String>,
}

impl BrowserMode {
    /// `name=value` of a session cookie holding `claims` as a sign-in at `now` would
    /// write it (development and benchmarks: see `dev::session_cookie`).
    #[cfg(feature = "dev-issuer")]
    pub(crate) fn session_cookie(&self, guard: &Guard, claims: &crate::Claims, now: i64) -> Option<String> {
        let value = Session::of(claims, guard.policy(), SessionId::new().ok()?, now)
            .seal(&self.settings.keys, self.session_cookie)?;
        Some(format!("{}={value}", self.session_cookie))
    }

    /// Decides a request, or leaves it to the API path (`None`).
    pub(crate) fn evaluate(
        self: &Arc<Self>,
        guard: &Guard,
        req: &RequestInfo<'_>,
        rule: &CompiledRule,
        span: &tracing::Span,
    ) -> Option<Evaluation> {
        let get = matches!(req.method, "GET" | "HEAD");
        // The code is exchanged for a GET only: a HEAD never spends it.
        if req.method == "GET" && req.path == self.callback_path {
            return Some(self.callback(guard, req));
        }
        if get && req.path == self.settings.sign_in_path {
            let param = |name: &str| param(req.query, name);
            let rules = guard.inner.paths;
            let return_to = param("return_to")
                .as_deref()
                .and_then(|w| safe_return_to(w, rules))
                .unwrap_or("/")
                .to_owned();
            // The MFA page's "try again": a step-up for the page it came from, by
            // that page's own rule, for the account signed in now.
            let step_up = if param("step_up").as_deref() == Some("1") {
                let path = return_to.split('?').next().unwrap_or("/");
                let session = self.session(req, guard.clock().now_unix());
                let (subject, hint) = session.map_or((None, None), |s| (s.sub, s.upn));
                Some(self.ask_for(guard, guard.select("GET", path), subject, hint))
            } else {
                None
            };
            return Some(self.start_at(guard, req, return_to, step_up, false));
        }
        if req.path == self.settings.sign_out_path {
            if get {
                return Some(self.sign_out_page());
            }
            if req.method == "POST" {
                if !self.same_origin(req) {
                    tracing::debug!("browser: a sign-out not posted from this application's pages refused");
                    return Some(Evaluation::Ready(Admission::Answered(pages::sign_out_refused(
                        &self.settings.sign_out_path,
                        &self.sign_out_targets(None),
                    ))));
                }
                // With a store, the session id is revoked: a copy of this cookie
                // kept elsewhere is signed out too.
                let now = guard.clock().now_unix();
                let retired = self.session_to_retire(req, now).and_then(|s| self.retire(&s));
                return Some(self.revoking(retired, self.sign_out()));
            }
        }
        if get && req.path == self.settings.signed_out_path {
            return Some(Evaluation::Ready(Admission::Answered(pages::signed_out(&self.sign_in_link("/")))));
        }
        if !req.is_navigation() {
            return None;
        }
        let now = guard.clock().now_unix();
        let Some(opened) = self.opened(req, guard.policy(), now) else {
            if rule.is_public() {
                return None;
            }
            return Some(self.start(guard, req, None));
        };
        match self.standing(&opened.session, now) {
            Standing::Valid => Some(self.decide(guard, req, rule, &opened, now, span)),
            // Signed out elsewhere: as if the browser carried no session, and the
            // cookie goes.
            Standing::Revoked if rule.is_public() => None,
            Standing::Revoked => {
                tracing::debug!("browser: a revoked session");
                Some(self.start_at(guard, req, return_path(req, guard.inner.paths), None, true))
            }
            // The store cannot vouch for the session: public pages do not need it,
            // the others wait (fail closed) rather than admit a session that may
            // have been revoked.
            Standing::Unknown if rule.is_public() => None,
            Standing::Unknown => {
                tracing::debug!("browser: the session store cannot vouch for a session");
                let age = self.settings.revocations.as_ref().and_then(|r| r.stale_for());
                let detail = match age {
                    Some(age) => format!(
                        "last reached {} s ago, so a sign-out made elsewhere since then cannot be seen",
                        age.as_secs()
                    ),
                    None => "a sign-out made elsewhere cannot be seen".to_owned(),
                };
                Some(Evaluation::Ready(Admission::Answered(pages::unavailable_because(
                    pages::Unreachable::SessionStore,
                    &detail,
                    STORE_RETRY_AFTER,
                ))))
            }
        }
    }

    /// The policy's decision for a session, rendered for a browser.
    fn decide(
        self: &Arc<Self>,
        guard: &Guard,
        req: &RequestInfo<'_>,
        rule: &CompiledRule,
        opened: &Opened,
        now: i64,
        span: &tracing::Span,
    ) -> Evaluation {
        let session = &opened.session;
        let claims = LazyClaims::shared(Arc::clone(&opened.claims));
        let admission = guard.admit(rule, Arc::clone(&opened.token), claims, now, span);
        let sign_out = &self.settings.sign_out_path;
        match admission {
            Admission::Admitted(principal) => {
                // Written again at most once a minute, moving the idle expiry.
                let rewritten = (now.saturating_sub(session.seen) >= REFRESH_AFTER)
                    .then(|| Session { seen: now, ..session.clone() })
                    .and_then(|refreshed| refreshed.seal(&self.settings.keys, self.session_cookie));
                let principal = match rewritten {
                    Some(value) => {
                        let left = self.absolute_end(session).saturating_sub(now);
                        let cookie =
                            http::HeaderValue::try_from(self.set_cookie(self.session_cookie, &value, left));
                        // Sealed bytes and cookie attributes: visible ASCII, always
                        // a header value; the cookie is a credential, never printed.
                        let principal = match cookie {
                            Ok(mut cookie) => {
                                cookie.set_sensitive(true);
                                principal.with_response_header(SET_COOKIE, cookie, HeaderMerge::Append)
                            }
                            Err(_) => {
                                tracing::warn!(
                                    "browser: the refreshed session cookie is not a header value; kept as it was"
                                );
                                principal
                            }
                        };
                        principal.with_response_header(
                            CACHE_CONTROL,
                            http::HeaderValue::from_static(cache::WRITES_SESSION),
                            HeaderMerge::Replace,
                        )
                    }
                    None => principal.with_response_header(
                        CACHE_CONTROL,
                        http::HeaderValue::from_static(cache::SIGNED_IN),
                        HeaderMerge::IfAbsent,
                    ),
                };
                Evaluation::Ready(Admission::Admitted(principal))
            }
            Admission::Refused(rejection) => match rejection.code() {
                RejectionCode::MfaRequired => {
                    let window = i64::try_from(self.settings.step_up_window.as_secs()).unwrap_or(i64::MAX);
                    if session.step_up_failed.is_some_and(|t| now.saturating_sub(t) < window) {
                        let level = rule.requirement.level;
                        let levels = &guard.policy().levels;
                        let needed = (level > 0).then(|| levels.name(level));
                        let shown = opened.token.level.map(|rank| levels.name(rank));
                        let retry = self.step_up_link(&return_path(req, guard.inner.paths));
                        let page = pages::mfa_required(&pages::MfaPage {
                            user: session.upn.as_deref(),
                            amr: &session.amr,
                            needed,
                            shown,
                            retry: &retry,
                            sign_out,
                        });
                        Evaluation::Ready(Admission::Answered(page.because(rejection)))
                    } else {
                        let ask = self.ask_for(guard, rule, session.sub.clone(), session.upn.clone());
                        self.start(guard, req, Some(ask))
                    }
                }
                code if code.status() == 403 => {
                    let needed: Vec<String> =
                        rule.requirement.role_names.iter().map(|r| r.name().to_owned()).collect();
                    let form_action = self.sign_out_targets(None);
                    let page = pages::forbidden(&pages::ForbiddenPage {
                        user: session.upn.as_deref(),
                        held: &session.roles,
                        needed: if code == RejectionCode::InsufficientRole { &needed } else { &[] },
                        why: rejection.detail(),
                        sign_out,
                        form_action: &form_action,
                    });
                    Evaluation::Ready(Admission::Answered(page.because(rejection)))
                }
                _ => self.start(guard, req, None),
            },
            other => Evaluation::Ready(other),
        }
    }

    /// Sends the browser to the provider: a sign-in, or a step-up asking for what
    /// a rule requires.
    fn start(self: &Arc<Self>, guard: &Guard, req: &RequestInfo<'_>, step_up: Option<Ask>) -> Evaluation {
        self.start_at(guard, req, return_path(req, guard.inner.paths), step_up, false)
    }

    /// What a step-up to `rule` asks the provider for, for the user `subject`: the
    /// browser's step-up profile for the base level `mfa`; for a stronger level, its
    /// own evidence — an authentication context (`acrs`, Entra's `claims` request),
    /// else `acr_values`, else its `amr` values in a `claims` request — so the
    /// provider is asked for what the rule will check.
    fn ask_for(
        &self,
        guard: &Guard,
        rule: &CompiledRule,
        subject: Option<String>,
        login_hint: Option<String>,
    ) -> Ask {
        let level = rule.requirement.level;
        let parameters = if level == 0 {
            self.settings.step_up.parameters(MFA_MAX_AGE)
        } else {
            let levels = &guard.policy().levels;
            let evidence: Vec<_> = levels.evidence_of(level).collect();
            match evidence.iter().find_map(|e| e.acrs().first()) {
                Some(context) => StepUp::Entra { auth_context: context.to_string() }.parameters(MFA_MAX_AGE),
                None => {
                    let acr: Vec<&str> = evidence.iter().flat_map(|e| e.acr()).map(|v| &**v).collect();
                    let amr: Vec<&str> = evidence.iter().flat_map(|e| e.amr()).map(|v| &**v).collect();
                    let mut p = vec![("prompt", "login".to_owned()), ("max_age", MFA_MAX_AGE.to_string())];
                    if !acr.is_empty() {
                        p.push(("acr_values", acr.join(" ")));
                    }
                    if !amr.is_empty() {
                        p.push((
                            "claims",
                            serde_json::json!({"id_token": {"amr": {"essential": true, "values": amr}}})
                                .to_string(),
                        ));
                    }
                    p
                }
            }
        };
        Ask { parameters, level, subject, login_hint }
    }

    /// The MFA page's "try again" link: a step-up for `return_to`'s rule.
    fn step_up_link(&self, return_to: &str) -> String {
        format!("{}?return_to={}&step_up=1", self.settings.sign_in_path, encode(return_to))
    }

    /// [`start`](Self::start), returning to `return_to`; clearing the session
    /// cookie too when `clear_session` (a revoked session).
    fn start_at(
        self: &Arc<Self>,
        guard: &Guard,
        req: &RequestInfo<'_>,
        return_to: String,
        step_up: Option<Ask>,
        clear_session: bool,
    ) -> Evaluation {
        let now = guard.clock().now_unix();
        let mut stale = self.stale_flows(req);
        if clear_session {
            stale.push(self.set_cookie(self.session_cookie, "", 0));
        }
        match self.provider.ready() {
            Ready::Loaded(loaded) => {
                Evaluation::Ready(Admission::Answered(self.redirect(&loaded, return_to, step_up, now, stale)))
            }
            Ready::CoolingDown(why, secs) => {
                Evaluation::Ready(Admission::Answered(pages::unavailable(&why, secs)))
            }
            Ready::NotYet => {
                let this = Arc::clone(self);
                Evaluation::Pending(PendingCheck::browser(Box::pin(async move {
                    Admission::Answered(match this.provider.get().await {
                        Ok(loaded) => this.redirect(&loaded, return_to, step_up, now, stale),
                        Err((why, secs)) => pages::unavailable(&why, secs),
                    })
                })))
            }
        }
    }

    fn redirect(
        &self,
        loaded: &provider::Loaded,
        return_to: String,
        step_up: Option<Ask>,
        now: i64,
        stale: Vec<String>,
    ) -> Answer {
        let max_age = MFA_MAX_AGE;
        let step_up_asked = step_up.is_some();
        let (extra, level, subject) = match step_up {
            Some(ask) => {
                let mut p = ask.parameters;
                // The provider is told whose step-up this is; the callback holds it to that.
                if let Some(hint) = ask.login_hint {
                    p.push(("login_hint", hint));
                }
                (p, ask.level, ask.subject)
            }
            None => (Vec::new(), 0, None),
        };
        let step_up = step_up_asked;
        let (url, state, nonce, verifier) =
            match self.provider.authorize(loaded, &self.settings.scopes, &extra) {
                Ok(parts) => parts,
                Err(why) => return pages::unavailable(&why.to_string(), provider::COOLDOWN.as_secs()),
            };
        let Some(id) = Flow::id(&state).map(str::to_owned) else {
            return pages::unavailable("the state made for the sign-in is unusable", 1);
        };
        let flow = Flow { state, nonce, verifier, return_to, step_up, started: now, max_age, level, subject };
        let name = format!("{}{id}", self.flow_prefix);
        let sealed = serde_json::to_vec(&flow).ok().and_then(|plain| self.settings.keys.seal(&name, &plain));
        let Some(sealed) = sealed else {
            return pages::unavailable("the sign-in state could not be sealed", 1);
        };
        tracing::debug!(step_up, "browser: sending the browser to the identity provider");
        let answer =
            pages::redirect(url).with_header("set-cookie", self.set_cookie(&name, &sealed, FLOW_LIFETIME));
        stale.into_iter().fold(answer, |a, clear| a.with_header("set-cookie", clear))
    }

    /// The sign-out page: a button that posts (see [`pages::sign_out`]). It names
    /// where the post may lead, so the provider is loaded first when it is not yet.
    fn sign_out_page(self: &Arc<Self>) -> Evaluation {
        let action = &self.settings.sign_out_path;
        match self.provider.ready() {
            Ready::Loaded(loaded) => Evaluation::Ready(Admission::Answered(pages::sign_out(
                action,
                &self.sign_out_targets(Some(&loaded)),
            ))),
            Ready::CoolingDown(..) => {
                Evaluation::Ready(Admission::Answered(pages::sign_out(action, &self.sign_out_targets(None))))
            }
            Ready::NotYet => {
                let this = Arc::clone(self);
                Evaluation::Pending(PendingCheck::browser(Box::pin(async move {
                    let loaded = this.provider.get().await.ok();
                    let targets = this.sign_out_targets(loaded.as_deref());
                    Admission::Answered(pages::sign_out(&this.settings.sign_out_path, &targets))
                })))
            }
        }
    }

    /// The CSP `form-action` of the sign-out pages: this origin, and the origins of
    /// the provider's end-session endpoint and of the post-logout page, to which
    /// the sign-out's redirects lead (a browser holds a form's redirects to the
    /// page's `form-action`).
    fn sign_out_targets(&self, loaded: Option<&provider::Loaded>) -> String {
        let ready = match (loaded, self.provider.ready()) {
            (None, Ready::Loaded(l)) => Some(l),
            _ => None,
        };
        let end_session = loaded.or(ready.as_deref()).and_then(|l| l.end_session.as_deref());
        let mut sources = vec!["'self'".to_owned()];
        for url in end_session.into_iter().chain([self.post_logout.as_str()]) {
            if let Some(origin) = origin_of(url)
                && origin != self.origin
                && !sources.contains(&origin)
            {
                sources.push(origin);
            }
        }
        sources.join(" ")
    }

    /// Whether a `POST` comes from this application's own pages: the browser's
    /// fetch metadata says `same-origin` or, from a browser that sends none, its
    /// `Origin` is this application's. Fetch metadata, when sent, decides: it is
    /// the browser's own verdict, and a request without either is refused.
    fn same_origin(&self, req: &RequestInfo<'_>) -> bool {
        match req.fetch_site {
            Some(site) => site.eq_ignore_ascii_case(b"same-origin"),
            None => req.origin.is_some_and(|o| o.eq_ignore_ascii_case(self.origin.as_bytes())),
        }
    }

    fn sign_out(&self) -> Answer {
        let location = match self.provider.ready() {
            Ready::Loaded(loaded) => match &loaded.end_session {
                Some(end) => {
                    let sep = if end.contains('?') { '&' } else { '?' };
                    format!(
                        "{end}{sep}client_id={}&post_logout_redirect_uri={}",
                        encode(&self.settings.client_id),
                        encode(&self.post_logout)
                    )
                }
                None => self.post_logout.clone(),
            },
            _ => self.post_logout.clone(),
        };
        pages::redirect(location).with_header("set-cookie", self.set_cookie(self.session_cookie, "", 0))
    }

    /// The provider's answer: the flow cookie found and checked, the code exchanged,
    /// the ID token verified, a session written.
    fn callback(self: &Arc<Self>, guard: &Guard, req: &RequestInfo<'_>) -> Evaluation {
        let query = Callback::parse(req.query);
        let restart = self.sign_in_link("/");
        let refuse = |status: u16, why: &str, clear: Option<&str>| {
            tracing::debug!(reason = why, "browser: sign-in callback refused");
            let page = pages::sign_in_failed(status, why, &restart);
            Evaluation::Ready(Admission::Answered(match clear {
                Some(clear) => page.with_header("set-cookie", clear.to_owned()),
                None => page,
            }))
        };
        let Some(state) = query.state.as_deref().filter(|s| !s.is_empty()) else {
            return refuse(
                400,
                "The identity provider's answer carries no state, so it cannot be matched to a sign-in this browser started.",
                None,
            );
        };
        let Some(id) = Flow::id(state) else {
            return refuse(
                400,
                "The identity provider's answer carries a state this application never issued.",
                None,
            );
        };
        let name = format!("{}{id}", self.flow_prefix);
        // From here on every answer clears this flow cookie, whatever it says: a
        // sign-in whose callback failed once can never be completed by a later
        // callback carrying the same state (a provider's error answered first, then
        // a code for the same state injected, would otherwise sign in).
        let clear = self.set_cookie(&name, "", 0);
        let fail = |status: u16, why: &str| refuse(status, why, Some(&clear));
        let flow = cookie_value(req.cookies, &name)
            .and_then(|v| self.settings.keys.open(&name, v))
            .and_then(|plain| serde_json::from_slice::<Flow>(&plain).ok());
        let Some(flow) = flow else {
            return fail(
                400,
                "This sign-in cannot be completed here: it was started in another browser, already completed, or took longer than ten minutes (its state cookie is missing).",
            );
        };
        if aws_lc_rs::constant_time::verify_slices_are_equal(flow.state.as_bytes(), state.as_bytes()).is_err()
        {
            return fail(
                400,
                "The state of the identity provider's answer does not match the sign-in this browser started.",
            );
        }
        let now = guard.clock().now_unix();
        if now.saturating_sub(flow.started) > FLOW_LIFETIME {
            return fail(400, "This sign-in took longer than ten minutes; start again.");
        }
        // The session this browser had, whose id the new session replaces: revoked
        // once the new one is written (a cookie planted before a sign-in or
        // step-up is not the one that holds its result).
        let previous = self.session(req, now);
        // Retired even when the store cannot vouch for it now: its id must not
        // outlive the sign-in that replaced it.
        let retired = self.session_to_retire(req, now).and_then(|s| self.retire(&s));
        if let Some(error) = query.error.as_deref() {
            let detail = query.error_description.as_deref().unwrap_or("");
            let detail: String = detail.chars().take(200).collect();
            if flow.step_up {
                // The provider ended the step-up without MFA (the user cancelled, or
                // it cannot do the MFA asked for): the MFA page explains.
                let answer = self.step_up_failed(previous, flow, now, clear);
                return self.revoking(retired, answer);
            }
            return fail(401, &format!("The identity provider refused the sign-in: {error} {detail}"));
        }
        let Some(code) = query.code.filter(|c| !c.is_empty()) else {
            return fail(400, "The identity provider's answer carries no authorization code.");
        };
        let this = Arc::clone(self);
        let guard = guard.clone();
        Evaluation::Pending(PendingCheck::browser(Box::pin(async move {
            let answer = this.finish(&guard, flow, code, clear, now).await;
            // Only a session written replaces the previous one.
            if let Some(retired) = retired
                && writes_session(&answer, this.session_cookie)
            {
                this.revoke(retired).await;
            }
            Admission::Answered(answer)
        })))
    }

    /// `answer`, once `retired` (if any) is revoked.
    fn revoking(self: &Arc<Self>, retired: Option<Retired>, answer: Answer) -> Evaluation {
        let Some(retired) = retired else { return Evaluation::Ready(Admission::Answered(answer)) };
        let this = Arc::clone(self);
        Evaluation::Pending(PendingCheck::browser(Box::pin(async move {
            this.revoke(retired).await;
            Admission::Answered(answer)
        })))
    }

    /// A step-up that came back without MFA, without a usable answer: the session
    /// keeps what it had, under a new id, and remembers the failure.
    fn step_up_failed(&self, previous: Option<Session>, flow: Flow, now: i64, clear: String) -> Answer {
        let restart = self.sign_in_link(&flow.return_to);
        match previous.zip(SessionId::new().ok()) {
            Some((mut s, sid)) => {
                s.sid = *sid.as_bytes();
                s.step_up_failed = Some(now);
                s.seen = now;
                self.write_session(s, &flow.return_to, clear)
            }
            None => pages::sign_in_failed(401, "The sign-in was not completed.", &restart)
                .with_header("set-cookie", clear),
        }
    }

    fn write_session(&self, session: Session, return_to: &str, clear: String) -> Answer {
        let absolute = i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX);
        let left = session.created.saturating_add(absolute).saturating_sub(session.seen);
        match session.seal(&self.settings.keys, self.session_cookie) {
            Some(value) => pages::redirect(return_to.to_owned())
                .with_header("set-cookie", clear)
                .with_header("set-cookie", self.set_cookie(self.session_cookie, &value, left)),
            None => pages::too_many_roles(&self.settings.sign_out_path).with_header("set-cookie", clear),
        }
    }

    async fn finish(&self, guard: &Guard, flow: Flow, code: String, clear: String, now: i64) -> Answer {
        let restart = self.sign_in_link(&flow.return_to);
        let failed = |status: u16, why: Cow<'_, str>| {
            tracing::debug!(reason = %why, "browser: sign-in refused");
            pages::sign_in_failed(status, &why, &restart).with_header("set-cookie", clear.clone())
        };
        let unavailable =
            |why: &str, secs: u64| pages::unavailable(why, secs).with_header("set-cookie", clear.clone());
        let loaded = match self.provider.get().await {
            Ok(l) => l,
            Err((why, secs)) => return unavailable(&why, secs),
        };
        let id_token = match self.provider.exchange(&loaded, &code, &flow.verifier).await {
            Ok(t) => t,
            Err(ProviderError::Unavailable(why)) => {
                return unavailable(&why, provider::COOLDOWN.as_secs());
            }
            Err(ProviderError::Refused(why)) => {
                return failed(400, format!("The identity provider did not accept this sign-in's authorization code (already used, or not issued for this browser): {why}").into());
            }
        };
        let verified = match loaded.id_tokens.verify(&id_token).await {
            Ok(v) => v,
            Err(refusal) => {
                return failed(
                    400,
                    format!("The identity provider's ID token was refused: {}", refusal.detail()).into(),
                );
            }
        };
        let claims = verified.claims();
        let nonce = claims.extra().get("nonce").and_then(|v| v.as_str()).unwrap_or("");
        if aws_lc_rs::constant_time::verify_slices_are_equal(nonce.as_bytes(), flow.nonce.as_bytes()).is_err()
        {
            return failed(
                400,
                "The ID token's nonce does not match this sign-in (a replayed or injected token).".into(),
            );
        }
        if let Some(expected) = &flow.subject
            && claims.sub() != Some(expected.as_str())
        {
            // A step-up never switches accounts: the session of the account that
            // asked for it stays as it was.
            tracing::debug!("browser: a step-up came back signed in as another account");
            return pages::other_account(&restart, &self.settings.sign_out_path)
                .with_header("set-cookie", clear.clone());
        }
        let policy = guard.policy();
        let Ok(sid) = SessionId::new() else {
            return unavailable("no randomness for a session id", 1);
        };
        let mut session = Session::of(claims, policy, sid, now);
        let shown = policy.levels.achieved(claims).map(|(rank, _)| rank);
        let mfa = shown.is_some();
        let fresh =
            flow.counts_mfa(claims.auth_time().map(NumericDate::unix), guard.verifier().leeway_secs());
        if mfa && !fresh {
            // A sign-in is held to the step-up's rule: a provider's single sign-on
            // answers with the authentication it remembers, and MFA done hours ago
            // is not MFA for this sign-in.
            session.forget_mfa(policy);
            tracing::debug!(
                step_up = flow.step_up,
                "browser: MFA from an earlier authentication not counted"
            );
        }
        let strong_enough = shown.is_some_and(|rank| rank >= flow.level);
        if flow.step_up && !(strong_enough && fresh) {
            session.step_up_failed = Some(now);
            tracing::debug!(
                fresh,
                mfa,
                strong_enough,
                "browser: the step-up came back without the MFA asked for"
            );
        }
        self.write_session(session, &flow.return_to, clear)
    }
}

/// Whether `answer` writes a session into the cookie `name` (not only clears it).
fn writes_session(answer: &Answer, name: &str) -> bool {
    answer.headers().any(|(header, value)| {
        header == "set-cookie"
            && value.strip_prefix(name).and_then(|v| v.strip_prefix('=')).is_some_and(|v| !v.starts_with(';'))
    })
}

impl Guard {
    /// Where browser mode takes OpenID Connect back-channel logout requests
    /// ([`Browser::backchannel_logout_path`](crate::browser::Browser::backchannel_logout_path)),
    /// when it is on. An adapter that sees a `POST` to this path reads its body (at
    /// most [`MAX_BACKCHANNEL_BODY`](crate::browser::MAX_BACKCHANNEL_BODY) bytes)
    /// and answers with [`backchannel_logout`](Self::backchannel_logout).
    pub fn backchannel_logout_path(&self) -> Option<&str> {
        self.inner.browser.as_ref().map(|b| b.backchannel_path.as_str())
    }

    /// Whether `req` is a back-channel logout request: a `POST` to
    /// [`backchannel_logout_path`](Self::backchannel_logout_path). An adapter reads
    /// its body, at most [`MAX_BACKCHANNEL_BODY`](crate::browser::MAX_BACKCHANNEL_BODY)
    /// bytes, and answers [`backchannel_logout`](Self::backchannel_logout), or
    /// [`backchannel_logout_too_long`](Self::backchannel_logout_too_long) when the
    /// body is longer (without reading the rest).
    pub fn is_backchannel_logout(&self, req: &RequestInfo<'_>) -> bool {
        req.method == "POST" && self.backchannel_logout_path() == Some(req.path)
    }

    /// The answer to a back-channel logout request whose body is longer than
    /// [`MAX_BACKCHANNEL_BODY`](crate::browser::MAX_BACKCHANNEL_BODY): `400`
    /// saying so, as [`backchannel_logout`](Self::backchannel_logout) answers such a body.
    pub fn backchannel_logout_too_long(&self) -> Answer {
        backchannel::refused(backchannel::TOO_LONG)
    }

    /// The answer to a back-channel logout request whose body could not be read
    /// (the connection broke, or the body was not valid HTTP framing): `400` saying so.
    pub fn backchannel_logout_unreadable(&self) -> Answer {
        backchannel::refused("the logout request's body could not be read")
    }

    /// Answers an OpenID Connect back-channel logout request: its body's
    /// `logout_token` checked (see the rules in `browser/backchannel.rs`: the
    /// provider's signature, `iss`, `aud`, `iat`, `exp`, the logout event, `sid` or
    /// `sub`, no `nonce`, a `jti` never seen before) and the sessions it names
    /// revoked — `200`; else `400` with an OAuth 2.0 error body. Both
    /// `Cache-Control: no-store`.
    ///
    /// Without a session store the answer is `400` saying that revocation needs one:
    /// the spec's answer for a logout that failed (a `501` would be a status the
    /// provider's retry logic does not know; the body says what is missing).
    pub async fn backchannel_logout(&self, content_type: Option<&[u8]>, body: &[u8]) -> Answer {
        let Some(browser) = self.inner.browser.as_ref() else {
            return backchannel::refused("browser sign-in is not configured here");
        };
        let Some(revocations) = browser.settings.revocations.as_ref() else {
            return backchannel::refused(
                "back-channel logout needs a session store (MFA_SESSION_STORE): without one a session is its cookie alone, and nothing here can end it",
            );
        };
        let token = match backchannel::logout_token(content_type, body) {
            Ok(token) => token,
            Err(why) => return backchannel::refused(why),
        };
        let loaded = match browser.provider.get().await {
            Ok(loaded) => loaded,
            Err((why, _)) => {
                return backchannel::refused(&format!(
                    "the identity provider's keys cannot be loaded now: {why}"
                ));
            }
        };
        let verified = match loaded.id_tokens.verify_logout_token(&token).await {
            Ok(verified) => verified,
            Err(refusal) => {
                return backchannel::refused(&format!("the logout token was refused: {}", refusal.detail()));
            }
        };
        let logout = match backchannel::check(verified.claims()) {
            Ok(logout) => logout,
            Err(why) => return backchannel::refused(&why.to_string()),
        };
        let now = self.clock().now_unix();
        let remember_until = logout.exp.saturating_add(self.verifier().leeway_secs()).max(now);
        match revocations.first_use(&logout.jti, remember_until).await {
            Ok(true) => {}
            Ok(false) => return backchannel::refused("this logout token was used before (its jti is known)"),
            Err(e) => return backchannel::refused(&format!("the logout token's jti cannot be checked: {e}")),
        }
        let until = now.saturating_add(browser.absolute_secs());
        let revoked = match (&logout.sid, &logout.sub) {
            (Some(sid), _) => revocations.revoke_provider_session(sid, until).await,
            (None, Some(sub)) => revocations.revoke_user(sub, now, until).await,
            (None, None) => return backchannel::refused("the logout token names neither sid nor sub"),
        };
        match revoked {
            Ok(()) => {}
            // In force here, and queued for the other replicas: done as far as the
            // provider can tell.
            Err(e) if e.kind() == StoreErrorKind::Queued => {
                tracing::warn!(error = %e, "browser: a back-channel logout is not shared yet");
            }
            Err(e) => return backchannel::refused(&format!("the sessions could not be revoked: {e}")),
        }
        tracing::debug!(by_sid = logout.sid.is_some(), "browser: back-channel logout");
        backchannel::done()
    }

    /// Signs the user `sub` out everywhere: every browser session of theirs signed
    /// in until now ends, on every replica sharing the session store.
    pub async fn revoke_user(&self, sub: &str) -> Result<(), RevokeError> {
        let browser = self.inner.browser.as_ref().ok_or(RevokeError::NoStore)?;
        browser.revoke_user(sub, self.clock().now_unix()).await
    }
}

/// Where to come back to after signing in: this request's path and query, when they
/// make a return path under the guard's path `rules` (else `/`).
fn return_path(req: &RequestInfo<'_>, rules: PathRules) -> String {
    let here = match req.query {
        Some(q) => format!("{}?{q}", req.path),
        None => req.path.to_owned(),
    };
    safe_return_to(&here, rules).map_or_else(|| "/".to_owned(), str::to_owned)
}

/// A top-level navigation refused with `invalid_request` (a path the guard cannot
/// read one way: nothing else refuses a navigation that way, as it carries no
/// token) gets the refusal as a page a person can read instead of JSON; anything
/// else is left as it is.
pub(super) fn render_for_navigation(req: &RequestInfo<'_>, evaluation: Evaluation) -> Evaluation {
    match evaluation {
        Evaluation::Ready(Admission::Refused(rejection))
            if rejection.code() == RejectionCode::InvalidRequest && req.is_navigation() =>
        {
            Evaluation::Ready(Admission::Answered(pages::bad_address(rejection)))
        }
        other => other,
    }
}
