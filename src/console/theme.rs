//! Semantic colour themes: built-in TOML files compiled in, optional files on disk, partial
//! overrides, and `NO_COLOR` (README, Design §7, item 4).
//!
//! A theme file (`themes/<name>.toml`) looks like
//! ```toml
//! name = "dark"
//! extends = "dark"        # optional: base theme for a partial file (default: dark)
//! [colors]
//! ok = "green"            # names, "#rrggbb" or an ANSI index
//! ```
//! Roles: text, background, ok, warn, alert, failed, running, muted, accent, border, selection.
//! Status is never conveyed by colour alone: views add symbols and bold text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::domain::{Band, RunStatus};

const DARK: &str = include_str!("../../themes/dark.toml");
const LIGHT: &str = include_str!("../../themes/light.toml");
const HIGH_CONTRAST: &str = include_str!("../../themes/high-contrast.toml");

/// Names of the built-in themes.
pub const BUILTIN_THEMES: [&str; 3] = ["dark", "light", "high-contrast"];

/// Errors loading a theme.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// The file could not be read.
    #[error("cannot read theme file {path}: {message}")]
    Read {
        /// Theme file.
        path: PathBuf,
        /// OS error.
        message: String,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("invalid theme {source_name}: {message}")]
    Parse {
        /// File path or built-in name.
        source_name: String,
        /// Parser message (with line and column).
        message: String,
    },
    /// A colour value is not understood.
    #[error(
        "invalid theme {source_name}: colors.{role} = {value:?} is not a colour (use a name like \"red\", \"#rrggbb\" or an ANSI index)"
    )]
    Color {
        /// File path or built-in name.
        source_name: String,
        /// Role key.
        role: String,
        /// Rejected value.
        value: String,
    },
    /// Neither a built-in name nor an existing file.
    #[error(
        "unknown theme {0:?}: expected one of dark, light, high-contrast or a path to a .toml file"
    )]
    Unknown(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    extends: Option<String>,
    #[serde(default)]
    colors: BTreeMap<String, String>,
}

/// Resolved colours per semantic role, plus whether colour is used at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Theme name (`dark`, `light`, `high-contrast`, or a file's `name`).
    pub name: String,
    /// Normal text.
    pub text: Color,
    /// Background of the whole screen (`reset` = terminal default).
    pub background: Color,
    /// Stable / succeeded.
    pub ok: Color,
    /// Warn band.
    pub warn: Color,
    /// Alert band.
    pub alert: Color,
    /// Failed run.
    pub failed: Color,
    /// Running / retrying run.
    pub running: Color,
    /// Secondary text.
    pub muted: Color,
    /// Titles, keys, focus.
    pub accent: Color,
    /// Pane borders.
    pub border: Color,
    /// Selected row background.
    pub selection: Color,
    /// False under `NO_COLOR`: every style drops its colour, modifiers remain.
    pub color: bool,
}

/// Semantic role of a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Normal text.
    Text,
    /// Stable / succeeded.
    Ok,
    /// Warn band.
    Warn,
    /// Alert band (bold).
    Alert,
    /// Failed run (bold).
    Failed,
    /// Running or retrying.
    Running,
    /// Secondary text.
    Muted,
    /// Titles and keys (bold).
    Accent,
    /// Borders of unfocused panes.
    Border,
}

impl Theme {
    /// The built-in theme `name`.
    ///
    /// # Errors
    /// [`ThemeError::Unknown`] for another name.
    pub fn builtin(name: &str) -> Result<Theme, ThemeError> {
        let text = match name {
            "dark" => DARK,
            "light" => LIGHT,
            "high-contrast" | "high_contrast" => HIGH_CONTRAST,
            other => return Err(ThemeError::Unknown(other.to_string())),
        };
        let base = Theme::fallback();
        base.overlay_str(text, name)
    }

    /// Hard-coded dark colours, used as the base of everything (never fails).
    pub fn fallback() -> Theme {
        Theme {
            name: "dark".into(),
            text: Color::Gray,
            background: Color::Reset,
            ok: Color::Green,
            warn: Color::Yellow,
            alert: Color::LightRed,
            failed: Color::Red,
            running: Color::Cyan,
            muted: Color::DarkGray,
            accent: Color::LightBlue,
            border: Color::DarkGray,
            selection: Color::Rgb(0x30, 0x3a, 0x4a),
            color: true,
        }
    }

    /// A theme by built-in name or file path, looking for `<themes_dir>/<name>.toml` first so
    /// users can override built-ins; partial files extend their `extends` theme (default dark).
    ///
    /// # Errors
    /// Read, parse and colour errors name the file and key.
    pub fn load(name_or_path: &str, themes_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        let as_path = Path::new(name_or_path);
        let candidate = if name_or_path.ends_with(".toml") {
            Some(as_path.to_path_buf())
        } else {
            themes_dir
                .map(|d| d.join(format!("{name_or_path}.toml")))
                .filter(|p| p.is_file())
        };
        match candidate {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Read {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                Theme::from_toml(&text, &path.display().to_string())
            }
            None => Theme::builtin(name_or_path),
        }
    }

    /// Like [`Theme::load`] but never fails: falls back to the built-in dark theme and returns
    /// the warning to show. Applies `NO_COLOR` when `no_color` is true.
    pub fn load_or_default(
        name_or_path: &str,
        themes_dir: Option<&Path>,
        no_color: bool,
    ) -> (Theme, Option<String>) {
        let (theme, warning) = match Theme::load(name_or_path, themes_dir) {
            Ok(t) => (t, None),
            Err(e) => (
                Theme::fallback(),
                Some(format!("{e}; using the built-in dark theme")),
            ),
        };
        (
            if no_color {
                theme.without_color()
            } else {
                theme
            },
            warning,
        )
    }

    /// True when the `NO_COLOR` environment variable is set to a non-empty value
    /// (<https://no-color.org>).
    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// Parses a theme file; the base is the built-in named by `extends` (default dark).
    ///
    /// # Errors
    /// [`ThemeError::Parse`] / [`ThemeError::Color`] naming `source_name`.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Parse {
            source_name: source_name.to_string(),
            message: e.to_string(),
        })?;
        let base = match file.extends.as_deref() {
            Some(name) => Theme::builtin(name)?,
            None => Theme::builtin("dark")?,
        };
        base.overlay_str(text, source_name)
    }

    fn overlay_str(mut self, text: &str, source_name: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Parse {
            source_name: source_name.to_string(),
            message: e.to_string(),
        })?;
        if let Some(name) = file.name {
            self.name = name;
        }
        for (role, value) in &file.colors {
            let color = Color::from_str(value).map_err(|_| ThemeError::Color {
                source_name: source_name.to_string(),
                role: role.clone(),
                value: value.clone(),
            })?;
            let slot = match role.as_str() {
                "text" => &mut self.text,
                "background" => &mut self.background,
                "ok" => &mut self.ok,
                "warn" => &mut self.warn,
                "alert" => &mut self.alert,
                "failed" => &mut self.failed,
                "running" => &mut self.running,
                "muted" => &mut self.muted,
                "accent" => &mut self.accent,
                "border" => &mut self.border,
                "selection" => &mut self.selection,
                other => {
                    return Err(ThemeError::Parse {
                        source_name: source_name.to_string(),
                        message: format!(
                            "unknown colour role colors.{other}: expected text, background, ok, \
                             warn, alert, failed, running, muted, accent, border or selection"
                        ),
                    });
                }
            };
            *slot = color;
        }
        Ok(self)
    }

    /// The same theme with colour switched off (`NO_COLOR`).
    pub fn without_color(mut self) -> Theme {
        self.color = false;
        self
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// Style of a semantic role. Alert, failed and accent are bold so they survive `NO_COLOR`.
    pub fn style(&self, role: Role) -> Style {
        match role {
            Role::Text => self.fg(self.text),
            Role::Ok => self.fg(self.ok),
            Role::Warn => self.fg(self.warn),
            Role::Alert => self.fg(self.alert).add_modifier(Modifier::BOLD),
            Role::Failed => self.fg(self.failed).add_modifier(Modifier::BOLD),
            Role::Running => self.fg(self.running),
            Role::Muted => self.fg(self.muted),
            Role::Accent => self.fg(self.accent).add_modifier(Modifier::BOLD),
            Role::Border => self.fg(self.border),
        }
    }

    /// Base style of the screen (text on background).
    pub fn base(&self) -> Style {
        if self.color {
            Style::new().fg(self.text).bg(self.background)
        } else {
            Style::new()
        }
    }

    /// Selected row: the selection background, or reversed video without colour.
    pub fn selection(&self) -> Style {
        if self.color {
            Style::new().bg(self.selection).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// Border of the focused pane.
    pub fn focus_border(&self) -> Style {
        self.fg(self.accent).add_modifier(Modifier::BOLD)
    }

    /// Role of a drift band.
    pub fn band_role(band: Band) -> Role {
        match band {
            Band::Ok => Role::Ok,
            Band::Warn => Role::Warn,
            Band::Alert => Role::Alert,
        }
    }

    /// Role of a run status.
    pub fn status_role(status: RunStatus) -> Role {
        match status {
            RunStatus::Succeeded => Role::Ok,
            RunStatus::Failed | RunStatus::Lost | RunStatus::Cancelled => Role::Failed,
            RunStatus::Running | RunStatus::Retrying | RunStatus::Queued => Role::Running,
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::fallback()
    }
}

/// Symbol of a drift band, so status never depends on colour: `·` ok, `▲` warn, `✖` alert.
pub fn band_symbol(band: Band) -> &'static str {
    match band {
        Band::Ok => "·",
        Band::Warn => "▲",
        Band::Alert => "✖",
    }
}

/// Symbol and short label of a run status: `✓ ok`, `✗ FAIL`, `⟳ run`, `↻ retry`, `… queue`,
/// `✗ LOST`, `✗ CANC`.
pub fn status_label(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "✓ ok",
        RunStatus::Failed => "✗ FAIL",
        RunStatus::Running => "⟳ run",
        RunStatus::Retrying => "↻ retry",
        RunStatus::Queued => "… queue",
        RunStatus::Lost => "✗ LOST",
        RunStatus::Cancelled => "✗ CANC",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_differ() {
        let dark = Theme::builtin("dark").expect("dark");
        let light = Theme::builtin("light").expect("light");
        let hc = Theme::builtin("high-contrast").expect("hc");
        assert_eq!(dark.name, "dark");
        assert_ne!(dark.ok, light.ok);
        assert_ne!(
            hc.ok,
            Color::Green,
            "colour-blind safe theme avoids green/red"
        );
        assert!(Theme::builtin("nope").is_err());
    }

    #[test]
    fn partial_override_keeps_other_roles() {
        let t = Theme::from_toml(
            "extends = \"light\"\n[colors]\nalert = \"magenta\"\n",
            "mine.toml",
        )
        .expect("theme");
        let light = Theme::builtin("light").expect("light");
        assert_eq!(t.alert, Color::Magenta);
        assert_eq!(t.ok, light.ok);
    }

    #[test]
    fn bad_colour_names_role_and_file() {
        let err = Theme::from_toml("[colors]\nok = \"greenish\"\n", "x.toml").expect_err("bad");
        let msg = err.to_string();
        assert!(
            msg.contains("x.toml") && msg.contains("colors.ok") && msg.contains("greenish"),
            "{msg}"
        );
        let err = Theme::from_toml("[colors]\nokay = \"green\"\n", "x.toml").expect_err("bad");
        assert!(err.to_string().contains("colors.okay"));
    }

    #[test]
    fn no_color_keeps_modifiers_only() {
        let t = Theme::builtin("dark").expect("dark").without_color();
        assert_eq!(t.style(Role::Ok), Style::new());
        assert!(t.style(Role::Alert).add_modifier.contains(Modifier::BOLD));
        assert!(t.selection().add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn load_or_default_warns_on_unknown() {
        let (t, warn) = Theme::load_or_default("sepia", None, false);
        assert_eq!(t.name, "dark");
        assert!(warn.expect("warning").contains("sepia"));
    }
}
