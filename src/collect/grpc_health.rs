//! gRPC health probe: `grpc.health.v1.Health/Check` over a channel kept per target, which
//! reconnects by itself when the server comes back.

use std::error::Error;
use std::time::Duration;

use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::prober::Verdict;
use super::reason;
use crate::health::ProbeState;

/// Asks one server about one service ("" = the whole server).
pub(crate) struct GrpcHealthCheck {
    /// Built once; an unusable host is reported on every probe.
    endpoint: Result<Endpoint, String>,
    /// Created on the first probe (a channel needs a runtime), then reused.
    client: Option<HealthClient<Channel>>,
    service: String,
    timeout: Duration,
}

impl GrpcHealthCheck {
    pub fn new(host: &str, port: u16, service: &str, timeout: Duration) -> Self {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let endpoint = Endpoint::from_shared(format!("http://{host}:{port}"))
            .map(|e| {
                e.connect_timeout(timeout)
                    .timeout(timeout)
                    .tcp_nodelay(true)
            })
            .map_err(|err| format!("invalid address: {err}"));
        GrpcHealthCheck {
            endpoint,
            client: None,
            service: service.to_string(),
            timeout,
        }
    }

    pub async fn run(&mut self) -> Verdict {
        let endpoint = match &self.endpoint {
            Ok(endpoint) => endpoint,
            Err(err) => return Verdict::down(err.clone()),
        };
        let client = self
            .client
            .get_or_insert_with(|| HealthClient::new(endpoint.connect_lazy()));
        let request = HealthCheckRequest {
            service: self.service.clone(),
        };
        match client.check(request).await {
            Ok(response) => classify_serving(response.into_inner().status),
            Err(status) => classify_error(&status, self.timeout),
        }
    }
}

/// Judges the `status` field of a HealthCheckResponse.
fn classify_serving(status: i32) -> Verdict {
    match ServingStatus::try_from(status) {
        Ok(ServingStatus::Serving) => Verdict::up("SERVING"),
        Ok(ServingStatus::NotServing) => Verdict::unhealthy("NOT_SERVING"),
        Ok(ServingStatus::Unknown) => Verdict::unhealthy("UNKNOWN"),
        Ok(ServingStatus::ServiceUnknown) => Verdict::unhealthy("SERVICE_UNKNOWN"),
        Err(_) => Verdict::unhealthy(format!("unknown serving status {status}")),
    }
}

/// Judges a failed call: statuses sent by the server say it is up; local errors (which
/// carry a source) say we never got an answer.
fn classify_error(status: &tonic::Status, timeout: Duration) -> Verdict {
    if status.source().is_some() {
        return Verdict::down(transport_reason(status, timeout));
    }
    match status.code() {
        Code::Unimplemented => {
            Verdict::new(ProbeState::NoHealthService, "port up, no health service")
        }
        Code::NotFound => Verdict::unhealthy("service not registered"),
        code => Verdict::unhealthy(format!("gRPC {code:?}: {}", status.message())),
    }
}

/// Why the call got no answer from the server, in words.
fn transport_reason(status: &tonic::Status, timeout: Duration) -> String {
    let mut current: Option<&(dyn Error + 'static)> = Some(status);
    while let Some(err) = current {
        if err.is::<tonic::TimeoutExpired>()
            || err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return reason::timed_out(timeout);
        }
        current = err.source();
    }
    if let Some(words) = reason::io_reason_in_chain(status) {
        return words;
    }
    if status.message().starts_with("h2 protocol error") {
        return format!("not gRPC: {}", status.message());
    }
    reason::root_message(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_statuses() {
        assert_eq!(classify_serving(1), Verdict::up("SERVING"));
        assert_eq!(classify_serving(2), Verdict::unhealthy("NOT_SERVING"));
        assert_eq!(classify_serving(0), Verdict::unhealthy("UNKNOWN"));
        assert_eq!(classify_serving(3), Verdict::unhealthy("SERVICE_UNKNOWN"));
        assert_eq!(classify_serving(42).state, ProbeState::Unhealthy);
    }

    #[test]
    fn server_statuses_mean_the_port_is_up() {
        let t = Duration::from_secs(1);
        let v = classify_error(&tonic::Status::unimplemented(""), t);
        assert_eq!(v.state, ProbeState::NoHealthService);
        assert_eq!(v.detail, "port up, no health service");
        let v = classify_error(&tonic::Status::not_found("service not registered"), t);
        assert_eq!(v, Verdict::unhealthy("service not registered"));
        let v = classify_error(&tonic::Status::internal("boom"), t);
        assert_eq!(v, Verdict::unhealthy("gRPC Internal: boom"));
    }

    #[test]
    fn local_errors_are_down() {
        let t = Duration::from_millis(300);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let v = classify_error(&tonic::Status::from_error(Box::new(refused)), t);
        assert_eq!(v, Verdict::down("connection refused"));
        let expired = tonic::TimeoutExpired(());
        let v = classify_error(&tonic::Status::from_error(Box::new(expired)), t);
        assert_eq!(v, Verdict::down("timed out after 300ms"));
    }
}
