//! Tests of the compose reader: the upstream file's shape, port syntaxes, interpolation, names.

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const UPSTREAM_SHAPE: &str = r#"services:
  # ===== Infrastructure Services =====
  postgres:
    image: postgres:18.0-alpine
    container_name: anychat-postgres
    ports:
      - "5432:5432"
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U anychat"]
      interval: 10s
  redis:
    image: redis:7.4.7-alpine
    container_name: anychat-redis
    ports:
      - "6379:6379"
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
  livekit:
    image: livekit/livekit-server:v1.9.11
    ports:
      - "7880:7880"    # WebSocket / HTTP API
      - "7881:7881"    # RTC TCP
      - "7882:7882/udp" # RTC UDP
  # prometheus:
  #   container_name: anychat-prometheus
volumes:
  postgres_data:
"#;

#[test]
fn reads_services_containers_ports_and_health_checks() {
    let facts = ComposeFacts::parse(
        UPSTREAM_SHAPE,
        Path::new("deployments/docker-compose.yml"),
        "deployments",
        &env(&[]),
    );
    assert_eq!(facts.error, None);
    assert_eq!(facts.project, "deployments");
    let names: Vec<&str> = facts.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["postgres", "redis", "livekit"]);
    let pg = facts.service("postgres", None).unwrap();
    assert_eq!(pg.container, "anychat-postgres");
    assert_eq!(pg.line, 4);
    assert_eq!(
        pg.ports,
        [Published {
            host_port: Some(5432),
            container_port: 5432,
            udp: false,
            line: 7
        }]
    );
    assert_eq!(
        pg.health.as_deref(),
        Some("CMD-SHELL pg_isready -U anychat")
    );
    let lk = facts.service("x", Some("deployments-livekit-1")).unwrap();
    assert_eq!(
        lk.name, "livekit",
        "default container name is <project>-<service>-1"
    );
    let udp: Vec<(u16, bool)> = lk.ports.iter().map(|p| (p.container_port, p.udp)).collect();
    assert_eq!(udp, [(7880, false), (7881, false), (7882, true)]);
    assert!(facts.problems.is_empty(), "{:?}", facts.problems);
}

#[test]
fn project_name_comes_from_env_then_name_then_directory() {
    let path = Path::new("deployments/docker-compose.yml");
    let text = "name: My_Stack\nservices:\n  db:\n    ports: ['15432:5432']\n";
    let facts = ComposeFacts::parse(text, path, "deployments", &env(&[]));
    assert_eq!(facts.project, "my_stack");
    assert_eq!(facts.services[0].container, "my_stack-db-1");
    let facts = ComposeFacts::parse(
        text,
        path,
        "deployments",
        &env(&[("COMPOSE_PROJECT_NAME", "Other")]),
    );
    assert_eq!(facts.project, "other");
}

#[test]
fn port_syntaxes() {
    let p = |s: &str| {
        parse_port(s, 1).map(|v| {
            v.iter()
                .map(|p| (p.host_port, p.container_port, p.udp))
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(p("5432"), Ok(vec![(None, 5432, false)]));
    assert_eq!(p("15432:5432"), Ok(vec![(Some(15432), 5432, false)]));
    assert_eq!(
        p("127.0.0.1:15432:5432/tcp"),
        Ok(vec![(Some(15432), 5432, false)])
    );
    assert_eq!(p("[::1]:15432:5432"), Ok(vec![(Some(15432), 5432, false)]));
    assert_eq!(p("127.0.0.1::5432"), Ok(vec![(None, 5432, false)]));
    assert_eq!(
        p("9000-9001:9000-9001"),
        Ok(vec![(Some(9000), 9000, false), (Some(9001), 9001, false)])
    );
    assert_eq!(p("7882:7882/udp"), Ok(vec![(Some(7882), 7882, true)]));
    for bad in [
        "",
        "x:5432",
        "1:2:3:4",
        "9000-9001:80",
        "70000:1",
        "5-1",
        "0:1",
    ] {
        assert!(p(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn long_syntax_and_interpolated_ports() {
    let text = "services:\n  db:\n    ports:\n      - target: 5432\n        published: \"${PG_PORT:-5432}\"\n        protocol: tcp\n      - \"${REDIS_PORT}:6379\"\n      - \"$$x\"\n";
    let facts = ComposeFacts::parse(
        text,
        Path::new("compose.yml"),
        "x",
        &env(&[("REDIS_PORT", "16379")]),
    );
    let ports: Vec<(Option<u16>, u16)> = facts.services[0]
        .ports
        .iter()
        .map(|p| (p.host_port, p.container_port))
        .collect();
    assert_eq!(ports, [(Some(5432), 5432), (Some(16379), 6379)]);
    assert_eq!(facts.problems.len(), 1, "{:?}", facts.problems);
    assert!(
        facts.problems[0].starts_with("compose.yml:8: service db:"),
        "{:?}",
        facts.problems
    );
}

#[test]
fn interpolation_follows_compose() {
    let e = env(&[("SET", "v"), ("EMPTY", "")]);
    for (text, want) in [
        ("${SET}", "v"),
        ("${UNSET}", ""),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("$SET/x", "v/x"),
        ("$$SET", "$SET"),
        ("a$", "a$"),
        ("${unclosed", "${unclosed"),
    ] {
        assert_eq!(interpolate(text, &e), want, "{text}");
    }
}

#[test]
fn health_checks_suggest_probes() {
    assert_eq!(
        probe_hint("CMD-SHELL pg_isready -U anychat"),
        Some((ProbeKind::Postgres, None, None))
    );
    assert_eq!(
        probe_hint("CMD redis-cli ping"),
        Some((ProbeKind::Redis, None, None))
    );
    assert_eq!(
        probe_hint("CMD curl -f http://localhost:9000/minio/health/live"),
        Some((
            ProbeKind::Http,
            Some(9000),
            Some("/minio/health/live".into())
        ))
    );
    assert_eq!(probe_hint("CMD true"), None);
}

proptest::proptest! {
    #[test]
    fn port_specs_never_panic(spec in "[0-9:\\-/\\[\\]a-z.]{0,24}") {
        let _ = parse_port(&spec, 1);
    }

    #[test]
    fn any_compose_text_reads_without_panicking(text in "(services:\n)?( {0,4}([a-z_]{1,8}:|-)( \"?[0-9a-z:$/{}.-]{0,12}\"?)?\n){0,20}") {
        let _ = ComposeFacts::parse(&text, Path::new("compose.yml"), "d", &BTreeMap::new());
    }

    #[test]
    fn interpolation_never_panics(text in "[$a-zA-Z_{}:\\-?]{0,24}") {
        let _ = interpolate(&text, &BTreeMap::new());
    }
}
