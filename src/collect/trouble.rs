//! anychat-top's own warnings and errors (`tracing` events from the workers: a log file that
//! cannot be written, a child that cannot be waited for) become `Update::Trouble`, shown as
//! alerts, instead of vanishing behind the full-screen terminal.

use std::fmt::Write as _;

use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::message::{Severity, Update};

/// A `tracing` layer sending every WARN and ERROR event to the loop (never waiting: when the
/// channel is full the event is dropped, as a log line would be).
pub struct TroubleLayer {
    updates: mpsc::Sender<Update>,
}

impl TroubleLayer {
    /// Events go to `updates`.
    pub fn new(updates: mpsc::Sender<Update>) -> TroubleLayer {
        TroubleLayer { updates }
    }
}

/// Install a global subscriber sending WARN and ERROR events to `updates`; false if one was
/// already installed (then events go wherever that one sends them).
pub fn install(updates: mpsc::Sender<Update>) -> bool {
    use tracing_subscriber::layer::SubscriberExt;
    // Only WARN and ERROR callsites are enabled at all: the libraries' debug and trace events
    // (h2, hyper, tonic emit many per request) then cost nothing.
    let layer =
        TroubleLayer::new(updates).with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

impl<S: Subscriber> Layer<S> for TroubleLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let severity = match *event.metadata().level() {
            Level::ERROR => Severity::Error,
            Level::WARN => Severity::Warning,
            _ => return,
        };
        let mut text = Text::default();
        event.record(&mut text);
        let _ = self.updates.try_send(Update::Trouble {
            severity,
            text: text.0,
        });
    }
}

/// The message of an event, then its other fields as `name=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            self.0 = format!("{value:?}");
            if !rest.is_empty() {
                let _ = write!(self.0, " {rest}");
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn warnings_and_errors_become_trouble_and_the_rest_does_not() {
        let (tx, mut rx) = mpsc::channel(8);
        let subscriber = tracing_subscriber::registry().with(TroubleLayer::new(tx));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not shown");
            tracing::warn!("log file for {} in {}: {}", "auth", "/x", "denied");
            tracing::error!(pid = 42, "waiting for the child");
        });
        let got: Vec<Update> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let texts: Vec<(Severity, String)> = got
            .into_iter()
            .filter_map(|u| match u {
                Update::Trouble { severity, text } => Some((severity, text)),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            [
                (
                    Severity::Warning,
                    "log file for auth in /x: denied".to_string()
                ),
                (Severity::Error, "waiting for the child pid=42".to_string()),
            ]
        );
    }

    #[test]
    fn a_full_channel_drops_events_without_blocking() {
        let (tx, mut rx) = mpsc::channel(1);
        let subscriber = tracing_subscriber::registry().with(TroubleLayer::new(tx));
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..100 {
                tracing::warn!("warning {i}");
            }
        });
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_err());
    }
}
