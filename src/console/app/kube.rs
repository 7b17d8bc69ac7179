//! Where the jobs run and whether the schedules run: `:ctx` / `:ns` switch the Kubernetes
//! context or namespace at run time (a picker lists the kubeconfig's contexts or the
//! namespaces the API server returns, or a name is typed), and `S` suspends or resumes the
//! selected model's CronJob (an [`Action`] through the confirm dialog and the dispatcher).
//!
//! Listing and switching happen in the runtime ([`Effect::LoadTargets`],
//! [`Effect::SwitchTarget`]), never in the UI loop; their answers come back as
//! [`Msg::Targets`](super::Msg::Targets) and [`Msg::TargetSwitched`](super::Msg::TargetSwitched).

use crossterm::event::{KeyCode, KeyEvent};

use crate::console::action::Action;
use crate::orchestrator::{ScheduleState, TargetKind};

use super::{App, Effect, Level, Mode};

/// Most characters typed after `:`.
pub const MAX_COMMAND: usize = 256;

/// The `:` command line and the context/namespace picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    /// What is picked.
    pub kind: TargetKind,
    /// Choices as listed by the orchestrator (empty while loading or after an error).
    pub items: Vec<String>,
    /// Typed text: filters the choices; picked as is when nothing matches.
    pub typed: String,
    /// Selected index into [`Picker::visible`].
    pub selected: usize,
    /// The list is being fetched.
    pub loading: bool,
    /// Why the list could not be fetched (a name can still be typed).
    pub error: Option<String>,
}

impl Picker {
    /// Choices containing the typed text.
    pub fn visible(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| i.contains(self.typed.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// What `Enter` switches to: the selected choice, else the typed text.
    pub fn choice(&self) -> Option<String> {
        match self.visible().get(self.selected) {
            Some(c) => Some((*c).to_string()),
            None => (!self.typed.trim().is_empty()).then(|| self.typed.trim().to_string()),
        }
    }
}

impl App {
    /// True when jobs run on Kubernetes (the header's orchestrator label).
    pub(super) fn on_kubernetes(&self) -> bool {
        self.session.orchestrator.starts_with("kubernetes")
    }

    fn not_kubernetes(&mut self, what: &str) {
        let kind = self
            .session
            .orchestrator
            .split_whitespace()
            .next()
            .unwrap_or("local")
            .to_string();
        self.set_status(
            Level::Warn,
            format!(
                "{what}: jobs run on the {kind} orchestrator, which has none; set [orchestrator] kind = \"kubernetes\""
            ),
        );
    }

    /// `S`: confirm dialog to suspend or resume the selected model's CronJob.
    pub(super) fn suspend_key(&mut self) -> Vec<Effect> {
        if !self.on_kubernetes() {
            self.not_kubernetes("suspend/resume of a CronJob");
            return Vec::new();
        }
        let Some(row) = self.selected_row() else {
            self.set_status(Level::Warn, "suspend/resume: no model selected");
            return Vec::new();
        };
        let (model_id, value_stream) = (row.model_id.clone(), row.value_stream.clone());
        match self.schedules.get(&model_id) {
            Some(s) => {
                self.mode = Mode::Confirm(Action::Suspend {
                    model_id,
                    value_stream,
                    schedule: s.name.clone(),
                    suspend: !s.suspended,
                });
            }
            None => self.set_status(
                Level::Warn,
                format!(
                    "suspend/resume: no CronJob of {model_id} in {} (render and apply the manifests)",
                    self.session.orchestrator
                ),
            ),
        }
        Vec::new()
    }

    /// Replaces the known schedules (CronJobs) after a successful listing.
    pub(super) fn apply_schedules(&mut self, schedules: Vec<ScheduleState>) {
        self.schedules = schedules
            .into_iter()
            .map(|s| (s.model.clone(), s))
            .collect();
    }

    /// True when the model's CronJob is known to be suspended.
    pub fn is_suspended(&self, model_id: &str) -> bool {
        self.schedules.get(model_id).is_some_and(|s| s.suspended)
    }
}

/// `:` typed: opens the command line.
pub(super) fn open_command(app: &mut App) -> Vec<Effect> {
    app.mode = Mode::Command(String::new());
    Vec::new()
}

/// Keys of the command line: `ctx [name]`, `context [name]`, `ns [name]`, `namespace [name]`.
pub(super) fn on_command_key(app: &mut App, mut text: String, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
        KeyCode::Backspace if text.is_empty() => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !c.is_control() && text.chars().count() < MAX_COMMAND => text.push(c),
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            return run_command(app, &text);
        }
        _ => {}
    }
    app.mode = Mode::Command(text);
    Vec::new()
}

fn run_command(app: &mut App, text: &str) -> Vec<Effect> {
    let mut words = text.split_whitespace();
    let kind = match words.next() {
        Some("ctx" | "context" | "contexts") => TargetKind::Context,
        Some("ns" | "namespace" | "namespaces") => TargetKind::Namespace,
        None => return Vec::new(),
        Some(other) => {
            app.set_status(
                Level::Warn,
                format!(":{other}: unknown command (:ctx [name], :ns [name])"),
            );
            return Vec::new();
        }
    };
    if !app.on_kubernetes() {
        app.not_kubernetes(&format!(":{} (kube {}s)", text.trim(), kind.as_str()));
        return Vec::new();
    }
    match words.next() {
        Some(name) => switch(app, kind, name.to_string()),
        None => {
            app.mode = Mode::Picker(Picker {
                kind,
                items: Vec::new(),
                typed: String::new(),
                selected: 0,
                loading: true,
                error: None,
            });
            vec![Effect::LoadTargets(kind)]
        }
    }
}

fn switch(app: &mut App, kind: TargetKind, name: String) -> Vec<Effect> {
    app.set_status(
        Level::Info,
        format!("switching {} to {name} …", kind.as_str()),
    );
    vec![Effect::SwitchTarget { kind, name }]
}

/// Keys of the picker: arrows move, typing filters (or names a target not listed), `Enter`
/// switches, `Esc` closes.
pub(super) fn on_picker_key(app: &mut App, mut picker: Picker, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            return match picker.choice() {
                Some(name) => switch(app, picker.kind, name),
                None => Vec::new(),
            };
        }
        KeyCode::Up => picker.selected = picker.selected.saturating_sub(1),
        KeyCode::Down => {
            let n = picker.visible().len();
            picker.selected = (picker.selected + 1).min(n.saturating_sub(1));
        }
        KeyCode::Backspace => {
            picker.typed.pop();
            picker.selected = 0;
        }
        KeyCode::Char(c) if !c.is_control() && picker.typed.chars().count() < MAX_COMMAND => {
            picker.typed.push(c);
            picker.selected = 0;
        }
        _ => {}
    }
    app.mode = Mode::Picker(picker);
    Vec::new()
}

/// The orchestrator's list of contexts or namespaces arrived.
pub(super) fn on_targets(
    app: &mut App,
    kind: TargetKind,
    result: Result<Vec<String>, String>,
) -> Vec<Effect> {
    if let Mode::Picker(p) = &mut app.mode
        && p.kind == kind
    {
        p.loading = false;
        match result {
            Ok(items) => {
                p.items = items;
                p.error = None;
            }
            Err(e) => {
                p.items.clear();
                p.error = Some(e);
            }
        }
    } else {
        app.dirty = false;
    }
    Vec::new()
}

/// The orchestrator switched (its new header label) or refused (why; it stays where it was).
pub(super) fn on_switched(
    app: &mut App,
    kind: TargetKind,
    name: String,
    result: Result<String, String>,
) -> Vec<Effect> {
    match result {
        Ok(label) => {
            app.session.orchestrator = label.clone();
            app.schedules.clear();
            app.set_status(Level::Info, format!("{} switched: {label}", kind.as_str()));
            app.request_overview().into_iter().collect()
        }
        Err(e) => {
            app.set_status(
                Level::Error,
                format!(
                    "{} {name} not used (still {}): {e}",
                    kind.as_str(),
                    app.session.orchestrator
                ),
            );
            Vec::new()
        }
    }
}
