//! Docker worker tests: the captured Engine API answers decoded with bollard's models, a fake
//! engine on a unix socket (version negotiation, refusal, silence, a fixture session), and the
//! real engine of this machine with containers built from a local busybox image.

#[path = "docker/support.rs"]
mod support;

#[path = "docker/fake_engine.rs"]
mod fake_engine;
#[path = "docker/fixtures.rs"]
mod fixtures;
#[path = "docker/properties.rs"]
mod properties;
#[path = "docker/real_engine.rs"]
mod real_engine;
#[path = "docker/unreachable.rs"]
mod unreachable;
