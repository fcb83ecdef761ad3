//! Colour, only where a person reads it: on a terminal, unless `NO_COLOR` is set
//! (<https://no-color.org>) or `--color` says otherwise.

use std::io::IsTerminal;

use anstyle::AnsiColor;
use clap::ValueEnum;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Whether `NO_COLOR` is set to something (an empty value does not count).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Paints text for one output stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    on: bool,
}

impl Style {
    /// The style for standard output.
    pub(crate) fn stdout(choice: ColorChoice) -> Self {
        Self::decide(choice, std::io::stdout().is_terminal(), no_color())
    }

    /// The style for standard error.
    pub(crate) fn stderr(choice: ColorChoice) -> Self {
        Self::decide(choice, std::io::stderr().is_terminal(), no_color())
    }

    /// `--color always` wins over `NO_COLOR`, as no-color.org asks of
    /// per-invocation flags; `auto` colours a terminal unless `NO_COLOR` is set.
    fn decide(choice: ColorChoice, terminal: bool, no_color: bool) -> Self {
        let on = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        Self { on }
    }

    fn paint(self, style: anstyle::Style, text: &str) -> String {
        // `{style}` sets it, `{style:#}` resets it.
        if self.on { format!("{style}{text}{style:#}") } else { text.to_owned() }
    }

    /// Good news.
    pub(crate) fn good(self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), text)
    }

    /// Bad news.
    pub(crate) fn bad(self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), text)
    }

    /// Something to notice.
    pub(crate) fn warn(self, text: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default(), text)
    }

    /// A heading.
    pub(crate) fn bold(self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }

    /// Less important text.
    pub(crate) fn dim(self, text: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), text)
    }
}

/// Token text made safe for a terminal: control characters (escape sequences
/// included) and the invisible marks that reorder or hide text (bidirectional
/// overrides, zero-width characters) are shown escaped, never sent.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let invisible =
            matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || invisible {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_only_a_terminal_without_no_color() {
        assert!(Style::decide(ColorChoice::Auto, true, false).on);
        assert!(!Style::decide(ColorChoice::Auto, true, true).on);
        assert!(!Style::decide(ColorChoice::Auto, false, false).on);
        assert!(Style::decide(ColorChoice::Always, false, true).on);
        assert!(!Style::decide(ColorChoice::Never, true, false).on);
        assert_eq!(Style::decide(ColorChoice::Never, true, false).bad("x"), "x");
    }

    #[test]
    fn each_kind_of_text_has_its_own_ansi_style_and_ends_with_a_reset() {
        let on = Style::decide(ColorChoice::Always, false, false);
        assert_eq!(on.good("ok"), "\x1b[32mok\x1b[0m");
        assert_eq!(on.bad("no"), "\x1b[31mno\x1b[0m");
        assert_eq!(on.warn("hm"), "\x1b[33mhm\x1b[0m");
        assert_eq!(on.bold("Title"), "\x1b[1mTitle\x1b[0m");
        assert_eq!(on.dim("aside"), "\x1b[2maside\x1b[0m");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(clean("Ünïcödé ok"), "Ünïcödé ok");
        assert_eq!(clean("admin\u{202e}nimda"), "admin\\u{202e}nimda");
    }
}
