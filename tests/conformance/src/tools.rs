//! The programs the end-to-end suites need from outside Rust — node and npm (the
//! OpenID provider of `tests/idp`, the browser journeys of `tests/browser`), nginx
//! and Caddy (forward-auth), Chromium — and the one rule for a missing one.
//!
//! **Skipped here, failed under CI.** Outside continuous integration a suite whose
//! tool is missing is skipped: its tests pass at once, and one line on stderr says
//! what was skipped and how to install what it needs, so a laptop without nginx
//! still runs `cargo test`. Under CI (`CI` set to `true` or `1`, as `.ci/run` and
//! CI services set it) a skipped suite would be counted as passed and hide that it
//! never ran, so every test of the suite fails instead, naming the tool and its
//! package. Packages that `npm ci` cannot install (no registry reachable) count as
//! a missing tool too.
//!
//! **The quick tier.** `cargo quick` (an alias in `.cargo/config.toml` for
//! `cargo test --workspace` with `MFA_QUICK=1`) leaves out the slow suites: the
//! soak, and every suite that needs a tool from outside Rust (each asks
//! [`require`], which asks [`quick_tier`] first). A left-out suite is said and
//! recorded like a skip. Under CI it fails instead, whatever the tools: a quick
//! run left suites out, and CI must never count one as passed.
//!
//! **What was skipped, after a run.** A skip line on stderr is easy to miss among a
//! thousand lines of test output, and `cargo test` runs each test binary on its
//! own, so none of them can print a summary at the end. Each skip is therefore also
//! written to `target/mfa-guard-skipped.txt`, which the first suite that decides in
//! a `cargo test` run starts afresh (a run is known by the cargo process that runs
//! the test binaries):
//!
//! ```text
//! cat target/mfa-guard-skipped.txt
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// A program (or set of packages) a suite needs and did not find usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    tool: String,
    install: String,
    why: String,
}

impl Missing {
    /// `tool` ("nginx"), how to install it ("Debian: apt-get install nginx-light"),
    /// and what the probe found ("nginx not found").
    pub fn new(tool: impl Into<String>, install: impl Into<String>, why: impl Into<String>) -> Self {
        Self { tool: tool.into(), install: install.into(), why: why.into() }
    }

    /// node 20 or later.
    pub fn node(why: impl Into<String>) -> Self {
        Self::new("node 20+", "Debian: apt-get install nodejs (20 or later)", why)
    }

    /// npm, where a suite's packages are not installed yet.
    pub fn npm(why: impl Into<String>) -> Self {
        Self::new("npm", "Debian: apt-get install npm", why)
    }

    /// The npm packages of a node project of the repository (`tests/idp`), which
    /// `npm ci` could not install.
    pub fn packages(project: &str, why: impl Into<String>) -> Self {
        Self::new(
            format!("the npm packages of {project}"),
            format!("npm ci --prefix {project}, where the npm registry can be reached"),
            why,
        )
    }
}

/// What a suite does, given the environment and what the probe for its tools found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The tools are there: run.
    Run,
    /// A tool is missing and this is not CI: skip, with this line.
    Skip(String),
    /// A tool is missing under CI: fail, with this message.
    Fail(String),
}

/// Whether the value of `CI` says this run is continuous integration: `true` (any
/// case) or `1`, as CI services set it.
pub fn is_ci(ci: Option<&str>) -> bool {
    ci.map(str::trim).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The rule, from the value of `CI` and the probe's finding, for `suite` ("the
/// nginx forward-auth tests").
pub fn decide(suite: &str, ci: Option<&str>, probe: Result<(), Missing>) -> Decision {
    match probe {
        Ok(()) => Decision::Run,
        Err(m) if is_ci(ci) => Decision::Fail(format!(
            "{suite} cannot run: {}; under CI (CI={}) a missing tool fails the suite instead of \
             skipping it: install {} ({})",
            m.why,
            ci.unwrap_or_default().trim(),
            m.tool,
            m.install
        )),
        Err(m) => Decision::Skip(format!(
            "skipping {suite}: {}; to run them, install {} ({})",
            m.why, m.tool, m.install
        )),
    }
}

/// Whether the value of `MFA_QUICK` asks for the quick tier: `1` or `true` (any
/// case), as [`is_ci`] reads `CI`.
pub fn is_quick(quick: Option<&str>) -> bool {
    is_ci(quick)
}

/// The rule of the quick tier, from the values of `CI` and `MFA_QUICK`, for a slow
/// `suite`: `None` when this is no quick run (the suite goes on to its own
/// checks); a skip outside CI; a failure under CI, which must not count a suite
/// that never ran as passed.
pub fn decide_quick(suite: &str, ci: Option<&str>, quick: Option<&str>) -> Option<Decision> {
    if !is_quick(quick) {
        return None;
    }
    let quick = quick.unwrap_or_default().trim();
    Some(if is_ci(ci) {
        Decision::Fail(format!(
            "{suite} was left out by MFA_QUICK={quick} (the quick tier); under CI (CI={}) a \
             left-out suite fails instead of passing: run `cargo test --workspace` without MFA_QUICK",
            ci.unwrap_or_default().trim()
        ))
    } else {
        Decision::Skip(format!(
            "leaving out {suite}: MFA_QUICK={quick} (the quick tier, `cargo quick`); \
             `cargo test --workspace` runs them"
        ))
    })
}

/// For a slow suite (the soak; [`require`] asks it for every suite that needs a
/// tool): `Ok(true)` run it; `Ok(false)` this is the quick tier and it is left out
/// (said on stderr and recorded, as a skip is); `Err` it must fail, with this
/// message (the quick tier under CI).
pub fn quick_tier(suite: &str) -> Result<bool, String> {
    let env = |name| std::env::var(name).ok();
    match decide_quick(suite, env("CI").as_deref(), env("MFA_QUICK").as_deref()) {
        None => Ok(true),
        Some(decision) => act(decision),
    }
}

/// Decides for this process's `CI` and acts on it: `Ok(true)` run; `Ok(false)`
/// skipped (said on stderr and recorded, see the module documentation); `Err` the
/// suite must fail, with this message. In the quick tier the suite is left out
/// before its tools are probed ([`quick_tier`]).
pub fn require(suite: &str, probe: Result<(), Missing>) -> Result<bool, String> {
    if !quick_tier(suite)? {
        return Ok(false);
    }
    act(decide(suite, std::env::var("CI").ok().as_deref(), probe))
}

/// Records `decision` and acts on it, as [`require`] says.
fn act(decision: Decision) -> Result<bool, String> {
    record(&decision);
    match decision {
        Decision::Run => Ok(true),
        Decision::Skip(line) => {
            // Once per process, however many tests ask; to the stderr handle itself,
            // since the test harness captures `eprintln!` and shows it only for
            // failing tests.
            static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
            let mut said = SAID.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !said.contains(&line) {
                let _ = writeln!(std::io::stderr(), "{line}");
                said.push(line);
            }
            Ok(false)
        }
        Decision::Fail(why) => Err(why),
    }
}

/// `binary arg` (a version flag) exits 0; else what happened.
pub fn probe_version(binary: &str, arg: &str) -> Result<(), String> {
    match Command::new(binary)
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{binary} {arg}` failed ({s})")),
        Err(_) => Err(format!("{binary} not found")),
    }
}

/// node 20 or later is on the `PATH`.
pub fn probe_node() -> Result<(), Missing> {
    let version = match Command::new("node").arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(_) => return Err(Missing::node("`node --version` failed")),
        Err(_) => return Err(Missing::node("node not found")),
    };
    let major = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major >= 20 => Ok(()),
        _ => Err(Missing::node(format!("node {version} is older than 20"))),
    }
}

/// npm is on the `PATH` (needed where `project`'s packages are not installed).
pub fn probe_npm(project: &str) -> Result<(), Missing> {
    probe_version("npm", "--version")
        .map_err(|why| Missing::npm(format!("{why}, and {project}/node_modules is not installed")))
}

/// `npm ci` in `dir` (the node project `project` of the repository), quietly.
pub fn npm_ci(dir: &Path, project: &str) -> Result<(), Missing> {
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        // Playwright's own browser download: the suites use the system's Chromium.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Missing::packages(project, format!("`npm ci` in {project} could not run ({e})")))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The line that says why (a fetch's "reason: connect ECONNREFUSED …"), else the first.
    let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let cause = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.contains("reason:"))
        .or_else(|| lines.next())
        .unwrap_or("no message");
    Err(Missing::packages(project, format!("`npm ci` in {project} failed ({}): {cause}", out.status)))
}

/// Where skips are recorded: `target/mfa-guard-skipped.txt`, beside the profile
/// directories (a test binary runs from `target/<profile>/deps/`).
pub fn skipped_file() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("mfa-guard-skipped.txt"))
}

/// The run a test binary belongs to: the cargo process that started it.
fn run_id() -> String {
    #[cfg(unix)]
    let parent = std::os::unix::process::parent_id();
    #[cfg(not(unix))]
    let parent = std::process::id();
    format!("# end-to-end suites skipped by the `cargo test` run of process {parent} (no line below: none)")
}

/// Records `decision` in [`skipped_file`].
fn record(decision: &Decision) {
    static LOCK: Mutex<()> = Mutex::new(());
    let Some(path) = skipped_file() else { return };
    let _held = LOCK.lock();
    record_in(&path, &run_id(), decision);
}

/// Starts the file afresh when `header` (the run) differs, then adds a skip (once).
fn record_in(path: &Path, header: &str, decision: &Decision) {
    let mut text = std::fs::read_to_string(path).unwrap_or_default();
    if text.lines().next() != Some(header) {
        text = format!("{header}\n");
    }
    if let Decision::Skip(line) = decision
        && !text.lines().any(|l| l == line)
    {
        text.push_str(line);
        text.push('\n');
    }
    // Best effort: a read-only target directory must not fail a test.
    let _ = std::fs::write(path, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nginx_missing() -> Result<(), Missing> {
        Err(Missing::new("nginx", "Debian: apt-get install nginx-light", "nginx not found"))
    }

    #[test]
    fn a_missing_tool_fails_the_suite_under_ci_naming_the_tool_and_its_package() {
        for ci in ["true", "TRUE", "True", "1", " true "] {
            let Decision::Fail(why) = decide("the nginx tests", Some(ci), nginx_missing()) else {
                panic!("CI={ci:?} with nginx missing must fail");
            };
            assert!(why.starts_with("the nginx tests cannot run: nginx not found;"), "{why}");
            assert!(why.ends_with("install nginx (Debian: apt-get install nginx-light)"), "{why}");
            assert!(!why.contains("node"), "{why}");
        }
        let Decision::Fail(why) = decide("the IdP tests", Some("1"), Err(Missing::node("node not found")))
        else {
            panic!("must fail");
        };
        assert!(why.contains("install node 20+ (Debian: apt-get install nodejs"), "{why}");
    }

    #[test]
    fn a_missing_tool_skips_the_suite_outside_ci_saying_how_to_install_it() {
        for ci in [None, Some(""), Some("false"), Some("0"), Some("yes"), Some("no")] {
            assert_eq!(
                decide("the nginx tests", ci, nginx_missing()),
                Decision::Skip(
                    "skipping the nginx tests: nginx not found; to run them, install nginx \
                     (Debian: apt-get install nginx-light)"
                        .into()
                ),
                "CI={ci:?}"
            );
        }
    }

    #[test]
    fn an_npm_ci_that_cannot_reach_the_registry_skips_outside_ci_and_fails_under_it() {
        if probe_version("npm", "--version").is_err() {
            return; // Nothing to show without npm; the rule itself is tested above.
        }
        // A project whose one package is only at a registry nobody listens on.
        let dir = std::env::temp_dir().join(format!("mfa-guard-npm-offline-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dep = r#""dependencies":{"left-pad":"1.3.0"}"#;
        std::fs::write(dir.join("package.json"), format!(r#"{{"name":"offline","version":"1.0.0",{dep}}}"#))
            .unwrap();
        let lock = format!(
            r#"{{"name":"offline","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{{
            "":{{"name":"offline","version":"1.0.0",{dep}}},
            "node_modules/left-pad":{{"version":"1.3.0","resolved":"http://127.0.0.1:9/left-pad-1.3.0.tgz"}}}}}}"#
        );
        std::fs::write(dir.join("package-lock.json"), lock).unwrap();
        let cache = dir.join("cache");
        let npmrc = format!("registry=http://127.0.0.1:9/\nfetch-retries=0\ncache={}\n", cache.display());
        std::fs::write(dir.join(".npmrc"), npmrc).unwrap();

        let missing = npm_ci(&dir, "tests/offline").unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        let Decision::Skip(line) = decide("the offline tests", None, Err(missing.clone())) else {
            panic!("outside CI, packages npm cannot install skip the suite");
        };
        assert!(line.starts_with("skipping the offline tests: `npm ci` in tests/offline failed"), "{line}");
        assert!(line.contains("ECONNREFUSED"), "npm's reason is said: {line}");
        assert!(
            line.contains("install the npm packages of tests/offline (npm ci --prefix tests/offline"),
            "{line}"
        );
        assert!(matches!(decide("the offline tests", Some("true"), Err(missing)), Decision::Fail(_)));
    }

    #[test]
    fn the_quick_tier_leaves_a_slow_suite_out_saying_so_outside_ci() {
        for quick in ["1", "true", "TRUE", " 1 "] {
            for ci in [None, Some(""), Some("false"), Some("0")] {
                assert_eq!(
                    decide_quick("the soak", ci, Some(quick)),
                    Some(Decision::Skip(format!(
                        "leaving out the soak: MFA_QUICK={} (the quick tier, `cargo quick`); \
                         `cargo test --workspace` runs them",
                        quick.trim()
                    ))),
                    "MFA_QUICK={quick:?} CI={ci:?}"
                );
            }
        }
    }

    #[test]
    fn the_quick_tier_fails_a_slow_suite_under_ci_so_it_is_never_counted_as_passed() {
        for ci in ["true", "1"] {
            let Some(Decision::Fail(why)) = decide_quick("the soak", Some(ci), Some("1")) else {
                panic!("CI={ci:?} with MFA_QUICK=1 must fail");
            };
            assert_eq!(
                why,
                format!(
                    "the soak was left out by MFA_QUICK=1 (the quick tier); under CI (CI={ci}) a \
                     left-out suite fails instead of passing: run `cargo test --workspace` without \
                     MFA_QUICK"
                )
            );
        }
    }

    #[test]
    fn without_mfa_quick_every_suite_runs_as_before() {
        for quick in [None, Some(""), Some("0"), Some("false"), Some("yes")] {
            for ci in [None, Some("true")] {
                assert_eq!(decide_quick("the soak", ci, quick), None, "MFA_QUICK={quick:?} CI={ci:?}");
            }
        }
    }

    #[test]
    fn usable_tools_run_the_suite_whatever_ci_says() {
        for ci in [None, Some("true"), Some("1"), Some("false")] {
            assert_eq!(decide("the nginx tests", ci, Ok(())), Decision::Run, "CI={ci:?}");
        }
    }

    #[test]
    fn skips_are_recorded_once_per_run_and_a_new_run_starts_afresh() {
        let target = skipped_file().expect("a target directory");
        let exe = std::env::current_exe().unwrap();
        assert!(exe.starts_with(target.parent().unwrap()), "{} beside {}", target.display(), exe.display());

        let path = std::env::temp_dir().join(format!("mfa-guard-skipped-{}.txt", std::process::id()));
        let skip = |what: &str| Decision::Skip(format!("skipping {what}"));
        record_in(&path, "# run 1", &skip("a"));
        record_in(&path, "# run 1", &skip("a"));
        record_in(&path, "# run 1", &Decision::Run);
        record_in(&path, "# run 1", &skip("b"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# run 1\nskipping a\nskipping b\n");
        record_in(&path, "# run 2", &Decision::Run);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# run 2\n");
        let _ = std::fs::remove_file(&path);
    }
}
