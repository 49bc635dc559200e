//! Entries anychat-top may not start or stop (remote hosts, services not built): the start,
//! stop and restart keys say why instead of doing nothing. (Its tests also cover workers,
//! entries without ports: running once their process is.)

use std::time::Instant;

use super::{Severity, State};
use crate::plan::EntryId;

impl State {
    /// When `entry` can never be started here, say why in the alerts and return true.
    pub(in crate::state) fn refuse_not_startable(&mut self, entry: EntryId, now: Instant) -> bool {
        let e = &self.plan.entries[entry.0];
        let Some(why) = e.not_startable.clone() else {
            return false;
        };
        if self.procs[entry.0].lifecycle.is_live() {
            return false;
        }
        let text = if e.is_remote() {
            format!(
                "{} {why}: start, stop and restart act on this machine only",
                e.name
            )
        } else {
            format!("{}: {why}; not started", e.name)
        };
        self.alert(now, Severity::Warning, text);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::action::Action;
    use crate::layout::builtin_layouts;
    use crate::manifest::{PlanOptions, Source, build_plan};
    use crate::message::Command;
    use crate::state::State;

    fn state(toml: &str) -> State {
        let source = Source {
            path: "test.toml".into(),
            text: toml.into(),
        };
        let mut plan = build_plan(&[source], &PlanOptions::default()).unwrap();
        crate::checkout::mark_unbuilt(&mut plan);
        State::new(
            Arc::new(plan),
            builtin_layouts(),
            Duration::from_secs(1),
            Instant::now(),
        )
    }

    fn press(s: &mut State, action: Action) -> Vec<Command> {
        s.handle(action)
    }

    #[test]
    fn keys_on_a_remote_entry_say_it_is_only_probed() {
        let mut s = state("[[service]]\nname = \"far\"\nhost = \"127.0.0.2\"\nhttp_port = 18001\n");
        s.ui.selected = Some(crate::plan::EntryId(0));
        for action in [Action::Start, Action::Stop, Action::Restart] {
            let before = s.alerts.len();
            assert!(
                press(&mut s, action).is_empty(),
                "{action:?} sent a command"
            );
            assert_eq!(s.alerts.len(), before + 1, "{action:?} said nothing");
            let text = &s.alerts.back().unwrap().text;
            assert!(text.contains("far runs on 127.0.0.2"), "{text}");
            assert!(text.contains("never started here"), "{text}");
        }
        // Start-all leaves it out.
        assert!(s.start_order().is_empty());
    }

    #[test]
    fn start_on_a_service_not_built_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display();
        let mut s = state(&format!(
            "[[service]]\nname = \"auth\"\ncommand = [\"{root}/bin/auth\"]\nhttp_port = 18001\n"
        ));
        s.ui.selected = Some(crate::plan::EntryId(0));
        assert!(press(&mut s, Action::Start).is_empty());
        let text = &s.alerts.back().unwrap().text;
        assert_eq!(text, "auth: not built: run `mage build:all`; not started");
    }

    #[test]
    fn a_worker_without_ports_is_running_once_its_process_is() {
        let mut s = state("[[service]]\nname = \"worker\"\ncommand = [\"sleep\", \"60\"]\n");
        s.ui.selected = Some(crate::plan::EntryId(0));
        let sent = press(&mut s, Action::Start);
        assert!(matches!(sent[..], [Command::Start { .. }]), "{sent:?}");
        let at = Instant::now();
        s.apply(crate::message::Update::ProcessStarted {
            entry: crate::plan::EntryId(0),
            pid: 42,
            at,
        });
        assert_eq!(
            s.procs[0].lifecycle,
            crate::state::procs::Lifecycle::Running { since: at }
        );
    }
}
