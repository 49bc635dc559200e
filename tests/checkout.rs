//! Reading synthetic AnyChat checkouts: the plan they give, each kind of drift, `${VAR:default}`
//! with and without the variable, commands, and `init`'s manifest loading back to the same plan.

mod support;

#[path = "checkout/offset.rs"]
mod offset;

use std::collections::BTreeMap;
use std::time::Duration;

use anychat_top::checkout::{self, Checkout, DriftKind, NOT_BUILT, ReadOptions};
use anychat_top::manifest::{PlanOptions, Source, build_plan, read_sources};
use anychat_top::plan::{Entry, EntryKind, Plan};
use support::checkout::{SyntheticCheckout, UPSTREAM};

fn options(env: &[(&str, &str)], go: bool) -> ReadOptions {
    ReadOptions {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        go_available: go,
    }
}

fn read(c: &SyntheticCheckout, opts: &ReadOptions) -> Checkout {
    checkout::read(c.root(), &[Source::anychat()], opts).unwrap_or_else(|e| panic!("{e}"))
}

fn plan_of(read: &Checkout) -> Plan {
    read.plan(0)
        .unwrap_or_else(|e| panic!("{e}\n{}", read.manifest))
}

fn entry<'a>(plan: &'a Plan, name: &str) -> &'a Entry {
    let id = plan
        .entry_named(name)
        .unwrap_or_else(|| panic!("{name} not in the plan"));
    &plan.entries[id.0]
}

fn port(plan: &Plan, name: &str, label: &str) -> Option<u16> {
    entry(plan, name)
        .targets
        .iter()
        .map(|t| &plan.targets[t.0])
        .find(|t| t.label == label)
        .map(|t| t.port)
}

fn deps(plan: &Plan, name: &str) -> Vec<String> {
    entry(plan, name)
        .depends_on
        .iter()
        .map(|d| plan.entries[d.0].name.clone())
        .collect()
}

#[test]
fn an_upstream_checkout_reads_as_thirteen_services_over_the_plans_roles() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let read = read(&c, &options(&[], false));
    let plan = plan_of(&read);
    let services: Vec<&Entry> = plan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Service)
        .collect();
    assert_eq!(services.len(), 13, "{}", read.manifest);
    for (name, http, grpc) in UPSTREAM {
        assert_eq!(port(&plan, name, "http"), Some(http), "{name}");
        assert_eq!(port(&plan, name, "grpc"), grpc, "{name}");
        let e = entry(&plan, name);
        let bin = c.root().join("bin").join(name);
        assert_eq!(e.command, [bin.to_string_lossy()], "{name}");
        assert_eq!(
            e.cwd.as_deref(),
            Some(c.root()),
            "{name} runs in the checkout"
        );
        assert_eq!(e.not_startable, None);
    }
    // Renamed services keep the plan's role; the new one gets the backends' needs.
    assert_eq!(entry(&plan, "conversation-service").group, "message");
    assert_eq!(entry(&plan, "calling-service").group, "extension");
    assert_eq!(entry(&plan, "version-service").group, "other");
    for name in ["auth-service", "conversation-service", "version-service"] {
        assert_eq!(
            deps(&plan, name)[..3],
            ["postgres", "redis", "nats"],
            "{name}"
        );
    }
    let gateway = deps(&plan, "gateway-service");
    assert_eq!(gateway[0], "nats");
    for name in ["conversation-service", "calling-service", "auth-service"] {
        assert!(gateway.contains(&name.to_string()), "{gateway:?}");
    }
    assert!(plan.entry_named("session-service").is_none());
    // Infra: containers from the compose file, its extra TCP port, the plan's monitoring,
    // and Zitadel from config.yaml.
    assert_eq!(
        entry(&plan, "postgres").container.as_deref(),
        Some("anychat-postgres")
    );
    assert_eq!(port(&plan, "livekit", "tcp-7881"), Some(7881));
    assert_eq!(port(&plan, "prometheus", "prometheus"), Some(9090));
    assert_eq!(port(&plan, "zitadel", "http"), Some(8090));
    assert!(!entry(&plan, "zitadel").required);
    // The environment each service is started with.
    let env = &entry(&plan, "auth-service").env;
    for (key, value) in [
        ("SERVER.HTTP_PORT", "8001"),
        ("SERVER.GRPC_PORT", "9001"),
        ("AUTH_GRPC_ADDR", "localhost:9001"),
        ("SERVICES.AUTH.GRPC_ADDR", "localhost:9001"),
        ("CONVERSATION_GRPC_ADDR", "localhost:9006"),
        ("CALLING_GRPC_ADDR", "localhost:9009"),
        ("NATS.URL", "nats://localhost:4222"),
        ("DATABASE.POSTGRES.PORT", "5432"),
        ("MINIO.ENDPOINT", "localhost:9000"),
        ("ZITADEL.URL", "http://localhost:8090"),
        (
            "MONITORING.JAEGER.ENDPOINT",
            "http://localhost:14268/api/traces",
        ),
    ] {
        assert_eq!(env.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert!(
        !env.contains_key("VERIFY.EMAIL.PORT"),
        "another host's port"
    );
    let gw = &entry(&plan, "gateway-service").env;
    assert_eq!(
        gw.get("GATEWAY.HTTP_PORT").map(String::as_str),
        Some("8080")
    );
    assert!(!gw.contains_key("SERVER.HTTP_PORT"));
}

fn kinds(read: &Checkout) -> Vec<(DriftKind, String)> {
    read.drift
        .iter()
        .map(|d| (d.kind, d.subject.clone()))
        .collect()
}

fn drift_line(read: &Checkout, kind: DriftKind, subject: &str) -> String {
    read.drift
        .iter()
        .find(|d| d.kind == kind && d.subject == subject)
        .unwrap_or_else(|| panic!("no {kind:?} {subject}: {:#?}", kinds(read)))
        .to_string()
}

#[test]
fn each_kind_of_drift_names_both_values_and_the_file() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    c.service("auth-service", "8101", Some("9001"))
        .remove("cmd/push-service")
        .remove("bin/push-service")
        .remove("bin/friend-service")
        .remove("bin/group-service")
        .bin_file("group-service")
        .write("cmd/group-service/routes.go", "package main\n")
        .age("bin/group-service", Duration::from_secs(7230))
        .write(
            "deployments/docker-compose.yml",
            &support::checkout::UPSTREAM_COMPOSE.replace("\"5432:5432\"", "\"15432:5432\""),
        );
    let read = read(&c, &options(&[("USER_GRPC_ADDR", "localhost:9102")], false));
    let line = |kind, subject| drift_line(&read, kind, subject);
    let expect = [
        (
            line(DriftKind::UnknownService, "version-service"),
            &["http 8012, gRPC 9012", "cmd/version-service/main.go:9"][..],
        ),
        (
            line(DriftKind::RenamedService, "conversation-service"),
            &["session-service", "conversation-service"],
        ),
        (
            line(DriftKind::RenamedService, "calling-service"),
            &["rtc-service", "calling-service"],
        ),
        (
            line(DriftKind::MissingService, "push-service"),
            &["http 8008, gRPC 9008", "no cmd/push-service"],
        ),
        (
            line(DriftKind::PortDiffers, "auth-service http port"),
            &["8001", "8101", "cmd/auth-service/main.go:9"],
        ),
        (
            line(DriftKind::PortDiffers, "user-service gRPC address"),
            &[
                "9002",
                "localhost:9102 (from $USER_GRPC_ADDR)",
                "configs/config.yaml:47",
            ],
        ),
        (
            line(DriftKind::PortDiffers, "postgres postgres port"),
            &["5432", "15432", "deployments/docker-compose.yml:7"],
        ),
        (
            line(DriftKind::PortBreaksRule, "zitadel.url"),
            &["port 8090", "8000-8099", "configs/config.yaml:24"],
        ),
        (
            line(DriftKind::Unconfigured, "metrics port 2112"),
            &[
                "/metrics on 2112",
                "monitoring.prometheus.port",
                "promhttp",
                "configs/config.yaml:37",
            ],
        ),
        (
            line(DriftKind::Unconfigured, "prometheus"),
            &[
                "anychat-prometheus on 9090",
                "no such compose service",
                "deployments/docker-compose.yml",
            ],
        ),
        (
            line(DriftKind::BinaryMissing, "friend-service"),
            &["bin/friend-service", "not built", "mage build:all"],
        ),
        (
            line(DriftKind::BinaryStale, "group-service"),
            &[
                "bin/group-service",
                "built 2h 0m ago",
                "older than its sources",
                "routes.go changed 2h 0m later",
            ],
        ),
    ];
    for (text, parts) in expect {
        assert!(!text.contains('\n'), "{text}");
        for part in parts {
            assert!(text.contains(part), "{text:?} lacks {part:?}");
        }
    }
    // The checkout's values are the ones used.
    let plan = plan_of(&read);
    assert_eq!(port(&plan, "auth-service", "http"), Some(8101));
    assert_eq!(port(&plan, "postgres", "postgres"), Some(15432));
    assert!(plan.entry_named("push-service").is_none());
    // Nothing else: a clean upstream checkout has exactly the drift upstream has.
    let clean = SyntheticCheckout::upstream();
    clean.bin_all_stubs();
    let clean = self::read(&clean, &options(&[], false));
    let mut found = kinds(&clean);
    found.sort();
    assert_eq!(
        found,
        [
            (DriftKind::UnknownService, "version-service".to_string()),
            (DriftKind::RenamedService, "calling-service".into()),
            (DriftKind::RenamedService, "conversation-service".into()),
            (DriftKind::PortBreaksRule, "zitadel.url".into()),
            (DriftKind::Unconfigured, "grafana".into()),
            (DriftKind::Unconfigured, "jaeger".into()),
            (DriftKind::Unconfigured, "metrics port 2112".into()),
            (DriftKind::Unconfigured, "prometheus".into()),
        ]
    );
}

#[test]
fn config_variables_resolve_with_and_without_the_environment() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let unset = read(&c, &options(&[], false));
    assert!(
        !unset
            .drift
            .iter()
            .any(|d| d.subject == "auth-service gRPC address"),
        "{:#?}",
        unset.drift
    );
    let set = read(&c, &options(&[("AUTH_GRPC_ADDR", "localhost:9111")], false));
    let text = drift_line(&set, DriftKind::PortDiffers, "auth-service gRPC address");
    assert!(
        text.contains("localhost:9111 (from $AUTH_GRPC_ADDR)"),
        "{text}"
    );
    // Either way the services started by anychat-top are told the plan's address.
    let plan = plan_of(&set);
    assert_eq!(
        entry(&plan, "user-service").env["AUTH_GRPC_ADDR"],
        "localhost:9001"
    );
    // Pointing at another machine is left alone (not overridden).
    let far = read(
        &c,
        &options(&[("AUTH_GRPC_ADDR", "auth.internal:9001")], false),
    );
    let plan = plan_of(&far);
    assert!(
        !entry(&plan, "user-service")
            .env
            .contains_key("AUTH_GRPC_ADDR")
    );
    assert!(
        far.notes.iter().any(|n| n.contains("auth.internal:9001")),
        "{:?}",
        far.notes
    );
    // Compose interpolation reads the same environment.
    c.write(
        "deployments/docker-compose.yml",
        &support::checkout::UPSTREAM_COMPOSE
            .replace("\"6379:6379\"", "\"${REDIS_PORT:-6379}:6379\""),
    );
    let plan = plan_of(&read(&c, &options(&[("REDIS_PORT", "16379")], false)));
    assert_eq!(port(&plan, "redis", "redis"), Some(16379));
    let plan = plan_of(&read(&c, &options(&[], false)));
    assert_eq!(port(&plan, "redis", "redis"), Some(6379));
}

#[test]
fn commands_are_bin_then_go_run_then_not_built() {
    let c = SyntheticCheckout::upstream();
    c.bin_stub("auth-service");
    let with_go = plan_of(&read(&c, &options(&[], true)));
    assert_eq!(
        entry(&with_go, "user-service").command,
        ["go", "run", "./cmd/user-service"]
    );
    assert_eq!(entry(&with_go, "auth-service").command.len(), 1);
    let without = plan_of(&read(&c, &options(&[], false)));
    let user = entry(&without, "user-service");
    assert!(user.command.is_empty());
    assert_eq!(user.not_startable.as_deref(), Some(NOT_BUILT));
    assert!(entry(&without, "auth-service").not_startable.is_none());
}

#[test]
fn plain_and_unreadable_main_go_defaults() {
    let c = SyntheticCheckout::upstream();
    c.service("auth-service", "\"8001\"", Some("grpcPort"));
    let read = read(&c, &options(&[], false));
    let plan = plan_of(&read);
    assert_eq!(port(&plan, "auth-service", "http"), Some(8001));
    assert_eq!(
        port(&plan, "auth-service", "grpc"),
        Some(9001),
        "the plan fills in"
    );
    assert!(
        read.notes
            .iter()
            .any(|n| n.contains("cmd/auth-service/main.go:10: the server.grpc_port default is not a plain port (grpcPort)")),
        "{:#?}",
        read.notes
    );
}

/// The entry and target facts that make up a plan, comparable.
fn facts(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan
        .entries
        .iter()
        .map(|e| {
            let env: BTreeMap<_, _> = e.env.iter().collect();
            format!(
                "{} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?}",
                e.name,
                e.kind,
                e.group,
                e.command,
                e.cwd,
                env,
                e.container,
                e.not_startable,
                e.depends_on,
                e.required,
                e.restart
            )
        })
        .collect();
    out.extend(plan.targets.iter().map(|t| {
        format!(
            "{:?} {} {} {} {:?} {:?}",
            t.entry, t.label, t.host, t.port, t.probe, t.required
        )
    }));
    out
}

#[test]
fn init_writes_a_commented_manifest_that_loads_back_to_the_same_plan() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs().remove("bin/user-service");
    let read = read(&c, &options(&[], false));
    assert!(
        read.manifest
            .starts_with("# anychat-top manifest for the AnyChat checkout at ")
    );
    assert!(
        read.manifest
            .contains("#   - version-service: not in the plan"),
        "{}",
        read.manifest
    );
    assert!(
        read.manifest
            .contains("# bin/user-service: not built: run `mage build:all`")
    );
    let file = c.root().join("anychat-top.toml");
    std::fs::write(&file, &read.manifest).expect("write the manifest");
    for offset in [0, 1000] {
        let sources = read_sources(std::slice::from_ref(&file)).expect("read it back");
        let options = PlanOptions {
            port_offset: offset,
            root: Some(c.root().to_path_buf()),
        };
        let mut loaded = build_plan(&sources, &options).unwrap_or_else(|e| panic!("{e}"));
        checkout::mark_unbuilt(&mut loaded);
        let direct = read.plan(offset).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(facts(&loaded), facts(&direct), "offset {offset}");
    }
    // Edited by a person: the edit is what loads.
    std::fs::write(
        &file,
        read.manifest
            .replacen("http_port = 8001", "http_port = 18001", 1),
    )
    .expect("edit");
    let sources = read_sources(std::slice::from_ref(&file)).expect("read it back");
    let edited = build_plan(&sources, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(port(&edited, "auth-service", "http"), Some(18001));
}
