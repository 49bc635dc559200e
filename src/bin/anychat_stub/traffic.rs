//! Simulated API traffic: one made-up HTTP or gRPC request per tick, logged like the real
//! service's middleware would and counted in the metrics, so dashboards see movement.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::MissedTickBehavior;

use crate::grpc_server::log_call;
use crate::registry::GrpcKey;
use crate::shared::Shared;

/// Tick used for the metrics when `--log-interval 0s` turns the log lines off.
const SILENT_TICK: Duration = Duration::from_secs(1);

const ERRORS: [&str; 5] = [
    "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:9002: connect: connection refused\"",
    "context deadline exceeded",
    "pq: duplicate key value violates unique constraint \"users_email_key\"",
    "nats: timeout",
    "redis: connection pool timeout",
];

/// The routes and RPCs a service named like `auth-service` plausibly has.
pub struct Api {
    http: Vec<(&'static str, &'static str)>,
    grpc: Vec<GrpcKey>,
    /// Share of simulated requests that are HTTP: AnyChat's gateway and admin-service serve
    /// HTTP (and log "HTTP Request"), the others only gRPC.
    http_share: f64,
}

/// Whether the service named `stem` (without `-service`) serves HTTP APIs upstream.
fn serves_http(stem: &str) -> bool {
    matches!(stem, "gateway" | "admin" | "api-gateway")
}

impl Api {
    /// Routes and RPCs for `name`; strings are leaked once so metric keys stay `&'static`.
    pub fn for_service(name: &str) -> Self {
        let stem = name.strip_suffix("-service").unwrap_or(name);
        let camel: String = stem
            .split(['-', '_'])
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let http = if stem == "auth" {
            ["login", "refresh", "logout"]
                .map(|r| ("POST", leak(format!("/api/v1/auth/{r}"))))
                .into_iter()
                .chain([("GET", "/api/v1/auth/me")])
                .collect()
        } else {
            let plural = if stem.ends_with('s') {
                stem.to_owned()
            } else {
                format!("{stem}s")
            };
            let list = leak(format!("/api/v1/{plural}"));
            let item = leak(format!("/api/v1/{plural}/:id"));
            vec![
                ("GET", list),
                ("GET", item),
                ("POST", list),
                ("PUT", item),
                ("DELETE", item),
            ]
        };
        let service = leak(format!(
            "anychat.{}.v1.{camel}Service",
            stem.replace('-', "")
        ));
        let grpc = [
            format!("Get{camel}"),
            format!("List{camel}s"),
            format!("Create{camel}"),
        ]
        .map(|m| (service, leak(m), "unary"))
        .to_vec();
        let http_share = match stem {
            "gateway" | "api-gateway" => 1.0,
            _ if serves_http(stem) => 0.8,
            _ => 0.0,
        };
        Self {
            http,
            grpc,
            http_share,
        }
    }
}

/// xorshift64*: plenty for made-up traffic.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self((nanos ^ u64::from(std::process::id()) << 32) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Runs forever: one simulated request per `log_interval` (logged), or per second unlogged.
pub async fn run(shared: Arc<Shared>, api: Api, log_interval: Duration) {
    let logging = !log_interval.is_zero();
    let period = if logging { log_interval } else { SILENT_TICK };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    for &key in &api.grpc {
        shared.registry.grpc_register(key);
    }
    let mut rng = Rng::seeded();
    loop {
        ticker.tick().await;
        if rng.unit() < api.http_share {
            http_request(&shared, &api, &mut rng, logging);
        } else {
            grpc_call(&shared, &api, &mut rng, logging);
        }
    }
}

fn http_request(shared: &Shared, api: &Api, rng: &mut Rng, logging: bool) {
    let &(method, route) = rng.pick(&api.http);
    let roll = rng.unit();
    let (status, seconds, error): (u16, f64, _) = if roll < 0.88 {
        let creates = method == "POST" && !route.starts_with("/api/v1/auth/");
        let ok = if creates { 201 } else { 200 };
        (ok, 0.0008 + -rng.unit().max(1e-9).ln() * 0.012, None)
    } else if roll < 0.95 {
        (
            *rng.pick(&[400, 401, 404, 409]),
            0.0004 + rng.unit() * 0.003,
            None,
        )
    } else {
        let error = *rng.pick(&ERRORS);
        let seconds = if error.starts_with("context") {
            5.0
        } else {
            0.02 + rng.unit() * 0.8
        };
        (*rng.pick(&[500, 502, 503]), seconds, Some(error))
    };
    shared
        .registry
        .http_request((method, route), status, seconds);
    if !logging {
        return;
    }
    let path = route.replace(":id", &(1000 + rng.next() % 90_000).to_string());
    let ip = format!("10.0.{}.{}", rng.next() % 4, 2 + rng.next() % 250);
    crate::request_log::log_http(
        shared,
        method,
        &path,
        status,
        Duration::from_secs_f64(seconds),
        &ip,
        error,
    );
}

fn grpc_call(shared: &Shared, api: &Api, rng: &mut Rng, logging: bool) {
    let key = *rng.pick(&api.grpc);
    let roll = rng.unit();
    let code = match roll {
        r if r < 0.93 => 0,
        r if r < 0.97 => 5,
        r if r < 0.99 => 14,
        _ => 13,
    };
    let seconds = 0.0002 + -rng.unit().max(1e-9).ln() * 0.004;
    shared.registry.grpc_started(key);
    shared
        .registry
        .grpc_handled(key, crate::registry::grpc_code_name(code));
    shared.registry.grpc_observe(key, seconds);
    if logging {
        log_call(shared, key, code, Duration::from_secs_f64(seconds));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names_follow_the_service() {
        let api = Api::for_service("message-service");
        assert!(api.http.contains(&("GET", "/api/v1/messages/:id")));
        assert_eq!(
            api.grpc[0],
            ("anychat.message.v1.MessageService", "GetMessage", "unary")
        );
        let auth = Api::for_service("auth-service");
        assert!(auth.http.contains(&("POST", "/api/v1/auth/login")));
        let odd = Api::for_service("push-gateway");
        assert_eq!(odd.grpc[1].0, "anychat.pushgateway.v1.PushGatewayService");
    }

    #[test]
    fn rng_stays_in_range() {
        let mut rng = Rng(42);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
