//! The `mfa-guard` command-line tool: explain, verify and check access tokens the
//! way mfa-guard's middleware decides them, and (development only) mint tokens and
//! run a local issuer.
//!
//! Every decision comes from `mfa-guard-core`; this crate reads arguments, words
//! the engine's answers, and maps them to documented exit codes (see [`exit`]).

// The argument docs are clap's --help text, written for a terminal: a URL there is
// text to copy, not a link.
#![allow(rustdoc::bare_urls)]

mod check;
#[cfg(feature = "dev-tools")]
mod dev_issuer;
mod exit;
mod explain;
mod guard;
mod human;
mod input;
mod inspect;
#[cfg(feature = "dev-tools")]
mod mint;
mod out;
mod response;
mod revoke;
mod runtime;
mod serve;
mod style;
mod verify;

#[cfg(feature = "dev-tools")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::{EXIT_CODES_HELP, Exit, Failure};
use crate::guard::KeyArgs;
use crate::style::{ColorChoice, Style};

/// Explain, verify and check bearer access tokens the way mfa-guard enforces
/// multi-factor authentication (as Microsoft Partner Center does).
#[derive(Debug, Parser)]
#[command(name = "mfa-guard", version, after_help = EXIT_CODES_HELP)]
struct Cli {
    /// When to colour the output
    #[arg(long, value_enum, default_value_t, global = true, value_name = "WHEN")]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a token WITHOUT verifying it and explain what the guard would decide
    ///
    /// Prints the header and claims, then the verdict: caller kind and the rule that
    /// decided it, MFA and its evidence, token version, issuer, tenant, expiry, roles,
    /// and for each Partner Center area: allowed, MFA required, role missing or
    /// app-only not allowed. With --config, the same for each rule of that file, and
    /// where a rule asks for an assurance level, a freshness or a challenge of its
    /// own: the level required and the token's, the sign-in age allowed and the
    /// token's, and the challenge (WWW-Authenticate) it would answer with. The
    /// signature is not checked: use `verify` for that.
    #[command(after_help = EXIT_CODES_HELP)]
    Inspect {
        /// The token, `Bearer <token>`, or a whole `Authorization: Bearer …` line;
        /// `-` or nothing reads standard input
        #[arg(value_name = "TOKEN | -")]
        token: Option<String>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        /// Also print the signature segment (not printed unless asked for)
        #[arg(long)]
        show_signature: bool,
        /// Decide the rules of this configuration file (TOML, as `check` reads it)
        /// instead of the Partner Center preset's areas
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Verify a token fully (signature, issuer, audience, expiry) and check MFA
    ///
    /// By default a user token must show MFA and an app-only token passes, as on
    /// Partner Center's catalog API; --no-mfa, --users-only and --role change that.
    #[command(after_help = EXIT_CODES_HELP)]
    Verify {
        /// The token, `Bearer <token>`, or a whole `Authorization: Bearer …` line;
        /// `-` reads standard input
        #[arg(value_name = "TOKEN | -")]
        token: Option<String>,
        #[command(flatten)]
        keys: KeyArgs,
        /// The expected issuer, exact or with {tenantid} (e.g. 'https://sts.windows.net/{tenantid}/')
        #[arg(long, value_name = "ISSUER")]
        issuer: Option<String>,
        /// An accepted audience (repeat for more)
        #[arg(long, value_name = "AUD", required = true)]
        audience: Vec<String>,
        /// Do not require MFA: any valid token passes
        #[arg(long)]
        no_mfa: bool,
        /// Refuse app-only tokens (as on user-only routes)
        #[arg(long)]
        users_only: bool,
        /// Require one of these roles (Partner Center role map; repeat for "any of")
        #[arg(long, value_name = "ROLE")]
        role: Vec<String>,
        /// Print the verdict as JSON
        #[arg(long)]
        json: bool,
    },
    /// Evaluate one request as the middleware configured by a policy file would,
    /// and print the exact HTTP response it would send
    ///
    /// Where the route's rule asks for an assurance level, a freshness or a
    /// challenge of its own, also prints the level required and the token's, the
    /// sign-in age allowed and the token's, and how the rule asks for more (--json
    /// always carries them, under "rule").
    #[command(after_help = EXIT_CODES_HELP)]
    Check {
        /// The guard's configuration (TOML; see mfa-guard-core's config module)
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The request method
        #[arg(long, default_value = "GET")]
        method: String,
        /// The request path, optionally with its query (e.g. /commerce/customers)
        #[arg(long)]
        path: String,
        /// The token, `Bearer <token>`, or a whole `Authorization: Bearer …` line;
        /// `-` or nothing reads standard input
        #[arg(value_name = "TOKEN | -", conflicts_with = "no_token")]
        token: Option<String>,
        /// Send the request without an Authorization header
        #[arg(long)]
        no_token: bool,
        #[command(flatten)]
        keys: KeyArgs,
        /// An issuer to add to those of the file (needs a key source flag)
        #[arg(long, value_name = "ISSUER")]
        issuer: Option<String>,
        /// An audience to add to those of the file (repeat for more)
        #[arg(long, value_name = "AUD")]
        audience: Vec<String>,
        /// Print the outcome and the response as JSON
        #[arg(long)]
        json: bool,
    },
    /// Serve as the external authorizer of a proxy: nginx auth_request, Traefik
    /// ForwardAuth, Caddy forward_auth, Envoy ext_authz (HTTP, and gRPC with
    /// --grpc-listen)
    ///
    /// Configured by the environment of the example servers: MFA_LISTEN (where the
    /// HTTP endpoints listen, default 127.0.0.1:3000), MFA_ISSUER with MFA_JWKS_URL
    /// or MFA_DISCOVERY_URL, MFA_AUDIENCE, MFA_TENANTS, MFA_CONFIG (a TOML file),
    /// MFA_TOKEN_CACHE_CAPACITY, MFA_METRICS_LISTEN; MFA_GRPC_LISTEN for the gRPC
    /// service. Paths are checked strictly (paths that two routers could read
    /// differently are refused: escaped plain characters, ';' parameters, empty
    /// segments, a case that picks the rule) unless the paths table of MFA_CONFIG says
    /// otherwise. Endpoints: /auth (Traefik, Caddy),
    /// /nginx/auth and /nginx/refusal (nginx), /envoy/... (Envoy HTTP), /health.
    /// Browser sign-in and MFA step-up for people (MFA_OIDC_CLIENT_ID and the other
    /// MFA_OIDC_* variables, MFA_SESSION_KEYS, MFA_STEP_UP, the `[browser]` table):
    /// the callback, sign-in, sign-out, signed-out and back-channel logout paths
    /// live under MFA_BROWSER_PREFIX (default /.mfa-guard/) on the application's
    /// origin, which the proxy sends to serve; MFA_OIDC_REDIRECT_URI and the page
    /// paths of the `[browser]` table must be under it. MFA_SESSION_STORE (memory,
    /// redis://...) lets sign-out and back-channel logout end sessions early.
    /// Every admitted request gets a signed identity assertion
    /// (X-Mfa-Guard-Assertion, ES256, for the upstream the proxy names in
    /// X-Mfa-Guard-Audience), whose keys are published at /.well-known/jwks.json:
    /// MFA_ASSERTION_KEYS (PKCS#8 P-256 key files, comma-separated, the signing key
    /// first; made at start when unset, and then known to this process only),
    /// MFA_ASSERTION_ISSUER (its iss, default mfa-guard-serve). Only the proxies in
    /// MFA_TRUSTED_PROXIES (comma-separated CIDRs, default 127.0.0.0/8,::1) get
    /// answers; any other peer gets 403 (but on /health and the JWKS).
    /// Recipes for each proxy are in the repository's deploy/ folder.
    #[command(after_help = EXIT_CODES_HELP)]
    Serve {
        /// Where the HTTP endpoints listen (overrides MFA_LISTEN)
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Where Envoy's gRPC ext_authz service listens (overrides MFA_GRPC_LISTEN)
        #[arg(long, value_name = "ADDR")]
        grpc_listen: Option<String>,
    },
    /// Sign a user out everywhere, or end one session, in the session store the
    /// servers share
    ///
    /// Writes the revocation to the Redis store of MFA_SESSION_STORE (or --store);
    /// every server following that store refuses the sessions within a second. The
    /// store's password comes from MFA_SESSION_STORE_PASSWORD only (arguments are
    /// visible to every user of the machine).
    #[command(after_help = EXIT_CODES_HELP)]
    Revoke {
        /// Sign this user (the ID token's sub) out of every session signed in until now
        #[arg(long, value_name = "SUB", required_unless_present = "session", conflicts_with = "session")]
        sub: Option<String>,
        /// End one session: its id, 22 characters of base64url
        #[arg(long, value_name = "SID")]
        session: Option<String>,
        /// The store, redis://host:port/db or rediss://… (overrides MFA_SESSION_STORE)
        #[arg(long, value_name = "URL", env = "MFA_SESSION_STORE", hide_env_values = true)]
        store: Option<String>,
        /// The key prefix [default: mfa-guard:] (overrides MFA_SESSION_STORE_PREFIX)
        #[arg(long, value_name = "PREFIX", env = "MFA_SESSION_STORE_PREFIX")]
        prefix: Option<String>,
        /// How long the revocation is kept: at least the servers' absolute session
        /// lifetime (e.g. 12h, 7d)
        #[arg(long, value_name = "DURATION", default_value = "12h", value_parser = revoke::parse_keep)]
        keep: std::time::Duration,
    },
    /// [development only] Mint a signed test token
    ///
    /// The key is made on the spot unless --key names one; the private key is
    /// written only with --save-key. Prints the token (and, with --print-jwks, the
    /// public JWKS on the next line).
    #[cfg(feature = "dev-tools")]
    #[command(after_help = EXIT_CODES_HELP)]
    Mint {
        /// An app-only token (client credentials) instead of a user's
        #[arg(long)]
        app: bool,
        /// Without `mfa` in amr (users only)
        #[arg(long)]
        no_mfa: bool,
        /// The roles claim (repeat for more; default AdminAgent for users)
        #[arg(long, value_name = "ROLE", conflicts_with = "no_roles")]
        role: Vec<String>,
        /// No roles claim at all
        #[arg(long)]
        no_roles: bool,
        /// A wids directory role: a template id or SecurityAdmin, BillingAdmin, GlobalAdmin
        #[arg(long, value_name = "WID")]
        wid: Vec<String>,
        /// The audience
        #[arg(long, value_name = "AUD", default_value = mfa_guard_dev::DEV_AUDIENCE)]
        audience: String,
        /// The issuer, exact or with {tenantid} [default: https://sts.windows.net/{tenantid}/]
        #[arg(long, value_name = "ISSUER")]
        issuer: Option<String>,
        /// How long the token is valid, e.g. 90s, 10m, 1h
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime, conflicts_with = "expired")]
        expires_in: Option<std::time::Duration>,
        /// A token that expired an hour ago
        #[arg(long)]
        expired: bool,
        /// An Entra v2.0-shaped token: ver 2.0, azp, and no amr (v2 access tokens carry none)
        #[arg(long)]
        v2: bool,
        /// Any claim, NAME=VALUE (VALUE is JSON if it is an array, object, quoted
        /// string, true/false/null or an integer; else a string; null removes)
        #[arg(long, value_name = "NAME=VALUE")]
        claim: Vec<String>,
        /// Sign with this PKCS#8 RSA private key (PEM) instead of a fresh one
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// Write the private key here (mode 0600; never over an existing file)
        #[arg(long, value_name = "PATH")]
        save_key: Option<PathBuf>,
        /// Print the public JWKS after the token
        #[arg(long)]
        print_jwks: bool,
        /// Write the public JWKS to this file
        #[arg(long, value_name = "PATH")]
        jwks_out: Option<PathBuf>,
        /// Print token, issuer and kid as JSON
        #[arg(long)]
        json: bool,
    },
    /// [development only] Serve a local issuer: discovery, JWKS, and tokens on request
    ///
    /// Listens on loopback only and prints the address it bound ("listening on
    /// http://…"). GET /token?kind=user|app&mfa=false&roles=… mints a token.
    #[cfg(feature = "dev-tools")]
    #[command(name = "dev-issuer", after_help = EXIT_CODES_HELP)]
    DevIssuer {
        /// The address to bind (loopback only; port 0 picks a free port)
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Sign with this PKCS#8 RSA private key (PEM) instead of a fresh one
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// Write the private key here (mode 0600; never over an existing file)
        #[arg(long, value_name = "PATH")]
        save_key: Option<PathBuf>,
        /// Sign people in for the relying party whose callback is URL (client id
        /// mfa-guard-dev), e.g. http://127.0.0.1:8080/.mfa-guard/callback for `mfa-guard
        /// serve` behind a proxy; it is sent back after sign-out to `signed-out` beside it.
        /// Without it, the sign-in pages serve a callback at this issuer's own
        /// /auth/callback
        #[arg(long, value_name = "URL")]
        redirect_uri: Option<String>,
    },
}

#[cfg(feature = "dev-tools")]
fn parse_lifetime(text: &str) -> Result<std::time::Duration, String> {
    mfa_guard_core::config::parse_duration(text).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let err = Style::stderr(cli.color);
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(failure) => {
            // One line, whatever the message holds.
            let line = failure.to_string().replace(['\n', '\r'], " ");
            eprintln!("{} {}", err.bad("mfa-guard: error:"), style::clean(&line));
            failure.exit.into()
        }
    }
}

fn run(cli: Cli) -> Result<Exit, Failure> {
    let out = Style::stdout(cli.color);
    match cli.command {
        Command::Inspect { token, json, show_signature, config } => {
            let token = input::read_token(token.as_deref())?;
            inspect::run(&token, &inspect::Options { json, show_signature, config }, out)
        }
        Command::Verify { token, keys, issuer, audience, no_mfa, users_only, role, json } => {
            let token = input::read_token(token.as_deref())?;
            let options =
                verify::Options { keys, issuer, audiences: audience, no_mfa, users_only, roles: role, json };
            runtime::current_thread()?.block_on(verify::run(&token, &options, out))
        }
        Command::Check { config, method, path, token, no_token, keys, issuer, audience, json } => {
            let token = if no_token { None } else { Some(input::read_token(token.as_deref())?) };
            let options = check::Options { config, method, path, keys, issuer, audiences: audience, json };
            runtime::current_thread()?.block_on(check::run(token.as_ref(), &options, out))
        }
        Command::Serve { listen, grpc_listen } => serve::run(&serve::Options { listen, grpc_listen }),
        Command::Revoke { sub, session, store, prefix, keep } => {
            let target = match (sub, session) {
                (_, Some(sid)) => revoke::Target::Session(sid),
                (Some(sub), None) => revoke::Target::User(sub),
                (None, None) => return Err(Failure::usage("name --sub or --session")),
            };
            let password = std::env::var("MFA_SESSION_STORE_PASSWORD").ok().filter(|p| !p.is_empty());
            let options = revoke::Options { target, store, password, prefix, keep };
            runtime::current_thread()?.block_on(revoke::run(&options, out))
        }
        #[cfg(feature = "dev-tools")]
        Command::Mint {
            app,
            no_mfa,
            role,
            no_roles,
            wid,
            audience,
            issuer,
            expires_in,
            expired,
            v2,
            claim,
            key,
            save_key,
            print_jwks,
            jwks_out,
            json,
        } => {
            let roles = if no_roles { Some(Vec::new()) } else { (!role.is_empty()).then_some(role) };
            let spec = mint::MintSpec {
                app,
                no_mfa,
                roles,
                wids: wid,
                audience: Some(audience),
                lifetime: expires_in,
                expired,
                v2,
                claims: claim,
            };
            mint::run(&mint::Options { spec, issuer, key, save_key, print_jwks, jwks_out, json })
        }
        #[cfg(feature = "dev-tools")]
        Command::DevIssuer { listen, key, save_key, redirect_uri } => runtime::current_thread()?
            .block_on(dev_issuer::run(&dev_issuer::Options { listen, key, save_key, redirect_uri })),
    }
}
