//! The key registry: one table of (action, keys, description, context) that feeds key lookup,
//! the footer, the `?` overlay and user overrides from `[console] keys` (README, Design §7,
//! habit 3).
//!
//! Override syntax (config): `keys = { rerun = "x", backfill = "ctrl-b", quit = ["q", "ctrl-c"] }`
//! with key names `a`, `R`, `?`, `enter`, `esc`, `tab`, `backtab`, `up`, `down`, `left`,
//! `right`, `pageup`, `pagedown`, `home`, `end`, `f1`..`f12`, `space`, prefixed by `ctrl-`/`alt-`.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies. Lookup tries the focused pane's context first, then `Global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    /// Everywhere.
    Global,
    /// Models table.
    Models,
    /// Trend, characteristics and bins (date cursor).
    Drift,
    /// Log pane.
    Logs,
}

impl Context {
    /// Title in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Models => "models",
            Context::Drift => "trend / characteristics / bins",
            Context::Logs => "logs",
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyAction {
    /// Quit (asks when jobs started here still run).
    Quit,
    /// Toggle the help overlay.
    Help,
    /// Next pane.
    NextPane,
    /// Previous pane.
    PrevPane,
    /// Focus pane n (1–7).
    FocusPane(u8),
    /// Move up.
    Up,
    /// Move down.
    Down,
    /// Earlier calculation date / left.
    Left,
    /// Later calculation date / right.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Drill down (model → characteristics → bins; run → log).
    DrillDown,
    /// Back / close.
    Back,
    /// Rerun the selected model on the selected date.
    Rerun,
    /// Backfill dialog.
    Backfill,
    /// Benchmark refresh.
    Refresh,
    /// Rerun every failed model.
    RerunFailed,
    /// The refresh view: last benchmark refresh runs.
    RefreshView,
    /// Roll the selected model's benchmark back to its newest kept version.
    Rollback,
    /// Filter models.
    Filter,
    /// Cycle sort: status, PSI, name.
    CycleSort,
    /// Group by value stream.
    GroupByStream,
    /// Cycle the value-stream filter.
    CycleValueStream,
    /// Toggle the "needs attention" filter (failed, retrying, quality findings, alert band).
    NeedsAttention,
    /// Reload from the store now.
    Reload,
    /// Toggle log follow.
    Follow,
    /// Toggle log wrap.
    Wrap,
    /// Search the log.
    Search,
    /// Next search match.
    NextMatch,
    /// Save the log to a file.
    SaveLog,
    /// `:` command line (`:ctx`, `:ns`: switch the kube context or namespace).
    Command,
    /// Suspend or resume the selected model's CronJob (Kubernetes).
    Suspend,
}

impl KeyAction {
    /// Config name of the action (`rerun`, `next-pane`, `pane-3`, ...).
    pub fn config_name(self) -> String {
        match self {
            KeyAction::FocusPane(n) => format!("pane-{n}"),
            other => {
                let s = match other {
                    KeyAction::Quit => "quit",
                    KeyAction::Help => "help",
                    KeyAction::NextPane => "next-pane",
                    KeyAction::PrevPane => "prev-pane",
                    KeyAction::Up => "up",
                    KeyAction::Down => "down",
                    KeyAction::Left => "left",
                    KeyAction::Right => "right",
                    KeyAction::PageUp => "page-up",
                    KeyAction::PageDown => "page-down",
                    KeyAction::Top => "top",
                    KeyAction::Bottom => "bottom",
                    KeyAction::DrillDown => "drill-down",
                    KeyAction::Back => "back",
                    KeyAction::Rerun => "rerun",
                    KeyAction::Backfill => "backfill",
                    KeyAction::Refresh => "refresh",
                    KeyAction::RerunFailed => "rerun-failed",
                    KeyAction::RefreshView => "refresh-view",
                    KeyAction::Rollback => "rollback",
                    KeyAction::Filter => "filter",
                    KeyAction::CycleSort => "sort",
                    KeyAction::GroupByStream => "group",
                    KeyAction::CycleValueStream => "value-stream",
                    KeyAction::NeedsAttention => "needs-attention",
                    KeyAction::Reload => "reload",
                    KeyAction::Follow => "follow",
                    KeyAction::Wrap => "wrap",
                    KeyAction::Search => "search",
                    KeyAction::NextMatch => "next-match",
                    KeyAction::SaveLog => "save-log",
                    KeyAction::Command => "command",
                    KeyAction::Suspend => "suspend",
                    KeyAction::FocusPane(_) => unreachable!("handled above"),
                };
                s.to_string()
            }
        }
    }
}

/// A key with modifiers, comparable with crossterm events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyCombo {
    /// Key code. Letters keep their case; SHIFT is implied by uppercase.
    pub code: KeyCode,
    /// CONTROL and/or ALT (SHIFT is ignored for characters).
    pub modifiers: KeyModifiers,
}

impl KeyCombo {
    /// A plain key.
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }
    /// A character key.
    pub const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// Normalizes a terminal event: SHIFT dropped for characters and BackTab.
    pub fn from_event(ev: &KeyEvent) -> Self {
        let mut modifiers = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if !matches!(ev.code, KeyCode::Char(_) | KeyCode::BackTab) {
            modifiers |= ev.modifiers & KeyModifiers::SHIFT;
        }
        Self {
            code: ev.code,
            modifiers,
        }
    }

    /// Parses `x`, `R`, `ctrl-r`, `enter`, `f5`, `shift-tab`.
    ///
    /// # Errors
    /// A message naming the text when the key is unknown.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                modifiers |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("alt-")
                .or_else(|| lower.strip_prefix("m-"))
            {
                modifiers |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().unwrap_or(0);
                if !(1..=12).contains(&n) {
                    return Err(format!("unknown key {text:?}: function keys are f1..f12"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => {
                        return Err(format!(
                            "unknown key {text:?}: use a single character, enter, esc, tab, \
                             backtab, up, down, left, right, pageup, pagedown, home, end, f1..f12, \
                             space, optionally prefixed with ctrl- or alt-"
                        ));
                    }
                }
            }
        };
        Ok(Self { code, modifiers })
    }
}

impl fmt::Display for KeyCombo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("S-tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One entry of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// What it does.
    pub action: KeyAction,
    /// Keys that trigger it (first one shown in the footer).
    pub keys: Vec<KeyCombo>,
    /// Short description (footer, help).
    pub description: &'static str,
    /// Where it applies.
    pub context: Context,
    /// Shown in the footer of its context.
    pub footer: bool,
}

/// The key registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    /// Bindings in display order.
    pub bindings: Vec<Binding>,
}

impl Default for KeyMap {
    fn default() -> Self {
        use Context::*;
        use KeyAction as A;
        use KeyCode as K;
        let p = KeyCombo::plain;
        let c = KeyCombo::ch;
        let b = |action, keys: Vec<KeyCombo>, description, context, footer| Binding {
            action,
            keys,
            description,
            context,
            footer,
        };
        let mut bindings = vec![
            b(A::Rerun, vec![c('r')], "rerun", Global, true),
            b(A::Backfill, vec![c('b')], "backfill", Global, true),
            b(A::Refresh, vec![c('f')], "refresh benchmark", Global, true),
            b(
                A::RerunFailed,
                vec![c('R')],
                "rerun all failed",
                Global,
                true,
            ),
            b(
                A::RefreshView,
                vec![c('B')],
                "benchmark refresh runs",
                Global,
                false,
            ),
            b(
                A::Command,
                vec![c(':')],
                "switch kube context / namespace",
                Global,
                false,
            ),
            b(
                A::Rollback,
                vec![c('u')],
                "roll back benchmark",
                Global,
                false,
            ),
            b(
                A::Suspend,
                vec![c('S')],
                "suspend / resume CronJob",
                Global,
                false,
            ),
            b(A::Filter, vec![c('/')], "filter", Models, true),
            b(A::CycleSort, vec![c('s')], "sort", Models, true),
            b(
                A::GroupByStream,
                vec![c('g')],
                "group by value stream",
                Models,
                false,
            ),
            b(
                A::CycleValueStream,
                vec![c('v')],
                "value stream filter",
                Models,
                false,
            ),
            b(
                A::NeedsAttention,
                vec![c('a')],
                "needs attention filter",
                Models,
                false,
            ),
            b(A::Follow, vec![c('F')], "follow", Logs, true),
            b(A::Wrap, vec![c('w')], "wrap", Logs, true),
            b(A::Search, vec![c('/')], "search", Logs, true),
            b(A::NextMatch, vec![c('n')], "next match", Logs, false),
            b(A::SaveLog, vec![c('s')], "save to file", Logs, true),
            b(A::DrillDown, vec![p(K::Enter)], "drill down", Global, true),
            b(A::Back, vec![p(K::Esc)], "back", Global, false),
            b(A::NextPane, vec![p(K::Tab)], "next pane", Global, false),
            b(
                A::PrevPane,
                vec![p(K::BackTab)],
                "previous pane",
                Global,
                false,
            ),
            b(A::Up, vec![p(K::Up), c('k')], "up", Global, false),
            b(A::Down, vec![p(K::Down), c('j')], "down", Global, false),
            b(
                A::Left,
                vec![p(K::Left), c('h')],
                "earlier date",
                Global,
                false,
            ),
            b(
                A::Right,
                vec![p(K::Right), c('l')],
                "later date",
                Global,
                false,
            ),
            b(A::PageUp, vec![p(K::PageUp)], "page up", Global, false),
            b(
                A::PageDown,
                vec![p(K::PageDown)],
                "page down",
                Global,
                false,
            ),
            b(A::Top, vec![p(K::Home)], "first", Global, false),
            b(A::Bottom, vec![p(K::End), c('G')], "last", Global, false),
            b(
                A::Reload,
                vec![KeyCombo {
                    code: K::Char('r'),
                    modifiers: crossterm::event::KeyModifiers::CONTROL,
                }],
                "reload now",
                Global,
                false,
            ),
            b(A::Help, vec![c('?')], "help", Global, true),
            b(A::Quit, vec![c('q')], "quit", Global, true),
        ];
        for n in 1..=7u8 {
            let digit = char::from(b'0' + n);
            bindings.push(b(
                A::FocusPane(n),
                vec![c(digit)],
                "focus pane",
                Global,
                false,
            ));
        }
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// The action bound to `ev` in `context` (context bindings win over global ones).
    pub fn lookup(&self, context: Context, ev: &KeyEvent) -> Option<KeyAction> {
        let combo = KeyCombo::from_event(ev);
        let find = |ctx: Context| {
            self.bindings
                .iter()
                .find(|b| b.context == ctx && b.keys.contains(&combo))
                .map(|b| b.action)
        };
        if context != Context::Global
            && let Some(a) = find(context)
        {
            return Some(a);
        }
        find(Context::Global)
    }

    /// First key of `action` as text (`r`, `ctrl-r`), for hints.
    pub fn key_of(&self, action: KeyAction) -> String {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.keys.first())
            .map(|k| k.to_string())
            .unwrap_or_else(|| "?".into())
    }

    /// Footer entries for `context`: (key, description) of context and global footer bindings.
    pub fn footer(&self, context: Context) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = self
            .bindings
            .iter()
            .filter(|b| b.footer && b.context == context)
            .filter_map(|b| b.keys.first().map(|k| (k.to_string(), b.description)))
            .collect();
        // Panes whose context is Global (runs, diagnostics) already listed the global hints.
        if context == Context::Global {
            return out;
        }
        for b in self
            .bindings
            .iter()
            .filter(|b| b.footer && b.context == Context::Global)
        {
            let shadowed = self.bindings.iter().any(|o| {
                o.context == context
                    && context != Context::Global
                    && o.keys.iter().any(|k| b.keys.contains(k))
            });
            if !shadowed && let Some(k) = b.keys.first() {
                out.push((k.to_string(), b.description));
            }
        }
        out
    }

    /// Applies overrides `action name → keys` (`[console] keys`, several keys separated by
    /// commas: `quit = "q, ctrl-q"`); returns one warning per bad entry (unknown action or
    /// key), leaving that binding at its default.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, String>) -> (KeyMap, Vec<String>) {
        let mut warnings = Vec::new();
        for (name, text) in overrides {
            let keys: Vec<&str> = text
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect();
            let Some(idx) = self
                .bindings
                .iter()
                .position(|b| b.action.config_name() == *name)
            else {
                warnings.push(format!("[console] keys.{name}: unknown action"));
                continue;
            };
            let parsed: Result<Vec<KeyCombo>, String> =
                keys.iter().map(|k| KeyCombo::parse(k)).collect();
            match parsed {
                Ok(combos) if !combos.is_empty() => self.bindings[idx].keys = combos,
                Ok(_) => warnings.push(format!("[console] keys.{name}: no key given")),
                Err(e) => warnings.push(format!("[console] keys.{name}: {e}")),
            }
        }
        (self, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    /// Issue 11 #15: with pane 5 or 7 focused (global context) the footer listed every global
    /// hint twice.
    #[test]
    fn footer_lists_each_hint_once_in_every_context() {
        let km = KeyMap::default();
        for context in [
            Context::Global,
            Context::Models,
            Context::Drift,
            Context::Logs,
        ] {
            let hints = km.footer(context);
            let mut seen = std::collections::HashSet::new();
            for h in &hints {
                assert!(
                    seen.insert(h.clone()),
                    "{context:?} repeats {h:?}: {hints:?}"
                );
            }
        }
    }

    #[test]
    fn context_wins_over_global() {
        let km = KeyMap::default();
        let slash = ev(KeyCode::Char('/'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Context::Models, &slash), Some(KeyAction::Filter));
        assert_eq!(km.lookup(Context::Logs, &slash), Some(KeyAction::Search));
        let r = ev(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(km.lookup(Context::Models, &r), Some(KeyAction::RerunFailed));
        let ctrl_r = ev(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(km.lookup(Context::Models, &ctrl_r), Some(KeyAction::Reload));
        let three = ev(KeyCode::Char('3'), KeyModifiers::NONE);
        assert_eq!(
            km.lookup(Context::Drift, &three),
            Some(KeyAction::FocusPane(3))
        );
        assert_eq!(
            km.lookup(Context::Models, &ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(KeyAction::Down)
        );
    }

    #[test]
    fn overrides_replace_keys_and_report_bad_entries() {
        let mut o = BTreeMap::new();
        o.insert("rerun".to_string(), "x".to_string());
        o.insert("nonsense".to_string(), "y".to_string());
        o.insert("quit".to_string(), "ctrl-q, hyper-q".to_string());
        o.insert("backfill".to_string(), "B, ctrl-b".to_string());
        let (km, warnings) = KeyMap::default().with_overrides(&o);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(
            km.lookup(Context::Models, &ev(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(KeyAction::Rerun)
        );
        assert_eq!(
            km.lookup(Context::Models, &ev(KeyCode::Char('r'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.lookup(
                Context::Models,
                &ev(KeyCode::Char('b'), KeyModifiers::CONTROL)
            ),
            Some(KeyAction::Backfill)
        );
        // bad quit override leaves q in place
        assert_eq!(
            km.lookup(Context::Models, &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(KeyAction::Quit)
        );
    }

    #[test]
    fn parse_round_trips() {
        for text in ["x", "R", "ctrl-r", "enter", "f5", "alt-x", "space"] {
            let k = KeyCombo::parse(text).expect(text);
            assert_eq!(
                KeyCombo::parse(&k.to_string().replace("F5", "f5")).expect("again"),
                k
            );
        }
        assert!(KeyCombo::parse("f13").is_err());
        assert!(KeyCombo::parse("hyper").is_err());
    }

    #[test]
    fn footer_hides_shadowed_globals() {
        let km = KeyMap::default();
        let logs = km.footer(Context::Logs);
        assert!(logs.iter().any(|(k, d)| k == "/" && *d == "search"));
        assert!(!logs.iter().any(|(_, d)| *d == "filter"));
    }
}
