//! A synthetic AnyChat checkout in a temporary directory, shaped like upstream
//! (github.com/yzhgit/anychat-server): `cmd/<name>/main.go` with `viper.SetDefault` ports,
//! `configs/config.yaml` with `${VAR:default}` peers, `deployments/docker-compose.yml`,
//! `internal/` and `pkg/` sources, and `bin/<name>` links to the bundled `anychat-stub`
//! (which, started as `bin/<name>`, takes its name from argv[0] and its ports from
//! `SERVER.HTTP_PORT`/`SERVER.GRPC_PORT`/`GATEWAY.HTTP_PORT`, like a real service).
//! The directory is removed on drop.

use std::fs::{File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The 13 upstream services: name, HTTP port, gRPC port (the gateway has none).
pub const UPSTREAM: [(&str, u16, Option<u16>); 13] = [
    ("auth-service", 8001, Some(9001)),
    ("user-service", 8002, Some(9002)),
    ("friend-service", 8003, Some(9003)),
    ("group-service", 8004, Some(9004)),
    ("message-service", 8005, Some(9005)),
    ("conversation-service", 8006, Some(9006)),
    ("file-service", 8007, Some(9007)),
    ("push-service", 8008, Some(9008)),
    ("calling-service", 8009, Some(9009)),
    ("sync-service", 8010, Some(9010)),
    ("admin-service", 8011, Some(9011)),
    ("version-service", 8012, Some(9012)),
    ("gateway-service", 8080, None),
];

/// `configs/config.yaml` as upstream writes it (the parts anychat-top reads, and some it skips).
pub const UPSTREAM_CONFIG: &str = r#"server:
  name: anychat-server
  mode: development

database:
  postgres:
    host: localhost
    port: 5432
    user: anychat
    password: anychat123
  redis:
    host: localhost
    port: 6379
    password: ""

nats:
  url: nats://localhost:4222

minio:
  endpoint: localhost:9000
  use_ssl: false

zitadel:
  url: http://localhost:8090
  project_id: ""

livekit:
  url: ws://localhost:7880
  api_key: devkey

jpush:
  app_key: ${JPUSH_APP_KEY:}

monitoring:
  prometheus:
    enabled: true
    port: 2112
  jaeger:
    enabled: true
    endpoint: http://localhost:14268/api/traces

# Microservice gRPC address configuration
services:
  auth:
    grpc_addr: ${AUTH_GRPC_ADDR:localhost:9001}
  user:
    grpc_addr: ${USER_GRPC_ADDR:localhost:9002}
  friend:
    grpc_addr: ${FRIEND_GRPC_ADDR:localhost:9003}
  group:
    grpc_addr: ${GROUP_GRPC_ADDR:localhost:9004}
  message:
    grpc_addr: ${MESSAGE_GRPC_ADDR:localhost:9005}
  conversation:
    grpc_addr: ${CONVERSATION_GRPC_ADDR:localhost:9006}
  file:
    grpc_addr: ${FILE_GRPC_ADDR:localhost:9007}
  push:
    grpc_addr: ${PUSH_GRPC_ADDR:localhost:9008}
  calling:
    grpc_addr: ${CALLING_GRPC_ADDR:localhost:9009}
  sync:
    grpc_addr: ${SYNC_GRPC_ADDR:localhost:9010}
  admin:
    grpc_addr: ${ADMIN_GRPC_ADDR:localhost:9011}

verify:
  email:
    host: ${EMAIL_HOST:smtp.example.com}
    port: ${EMAIL_PORT:587}

gateway:
  http_port: 8080
"#;

/// `deployments/docker-compose.yml` as upstream writes it (monitoring commented out).
pub const UPSTREAM_COMPOSE: &str = r#"services:
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
  nats:
    image: nats:2.10.29-alpine
    container_name: anychat-nats
    ports:
      - "4222:4222"
      - "8222:8222"
  minio:
    image: minio/minio:RELEASE.2025-09-07T16-13-09Z
    container_name: anychat-minio
    ports:
      - "9000:9000"
      - "9091:9091"
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:9000/minio/health/live"]
  livekit:
    image: livekit/livekit-server:v1.9.11
    container_name: anychat-livekit
    ports:
      - "7880:7880"    # WebSocket / HTTP API
      - "7881:7881"    # RTC TCP
      - "7882:7882/udp" # RTC UDP

  # prometheus:
  #   image: prom/prometheus:latest
  #   container_name: anychat-prometheus
  #   ports:
  #     - "9090:9090"

volumes:
  postgres_data:
"#;

/// A `main.go` with upstream's `loadConfig`: `http` and `grpc` are Go expressions as written
/// (`8001`, `"8001"`, `httpPort`); the gateway's key is `gateway.http_port`.
pub fn main_go(name: &str, http: &str, grpc: Option<&str>) -> String {
    let http_key = if name == "gateway-service" {
        "gateway.http_port"
    } else {
        "server.http_port"
    };
    let grpc_line = grpc.map_or(String::new(), |g| {
        format!("\tviper.SetDefault(\"server.grpc_port\", {g})\n")
    });
    format!(
        "package main\n\nconst serviceName = \"{name}\"\n\nfunc loadConfig() error {{\n\
         \tviper.SetConfigName(\"config\")\n\tviper.AddConfigPath(\"./configs\")\n\n\
         \tviper.SetDefault(\"{http_key}\", {http})\n{grpc_line}\
         \tviper.SetDefault(\"nats.url\", \"nats://localhost:4222\")\n\
         \tviper.AutomaticEnv()\n\treturn nil\n}}\n"
    )
}

/// A checkout in a temp dir; every method returns `&Self` to chain.
pub struct SyntheticCheckout {
    dir: tempfile::TempDir,
}

impl SyntheticCheckout {
    /// `go.mod` and an empty `cmd/`.
    pub fn empty() -> SyntheticCheckout {
        let dir = tempfile::Builder::new()
            .prefix("anychat-checkout-")
            .tempdir()
            .expect("temp dir");
        let c = SyntheticCheckout { dir };
        c.write("go.mod", "module github.com/anychat/server\n\ngo 1.24\n");
        std::fs::create_dir_all(c.root().join("cmd")).expect("cmd/");
        c
    }

    /// Upstream's shape: 13 services, config.yaml, the compose file, sources; no `bin/` yet.
    pub fn upstream() -> SyntheticCheckout {
        let c = SyntheticCheckout::empty();
        for (name, http, grpc) in UPSTREAM {
            let grpc = grpc.map(|g| g.to_string());
            c.service(name, &http.to_string(), grpc.as_deref());
        }
        c.write("configs/config.yaml", UPSTREAM_CONFIG);
        c.write("deployments/docker-compose.yml", UPSTREAM_COMPOSE);
        c.write(
            "internal/auth/service/auth_service.go",
            "package service\n\nfunc Login() {}\n",
        );
        c.write(
            "pkg/config/config.go",
            "package config\n\n// ExpandEnvInConfig resolves ${VAR:default}.\nfunc ExpandEnvInConfig() {}\n",
        );
        // Written "yesterday": binaries linked or built afterwards are newer than the sources.
        c.age_all(Duration::from_secs(86_400));
        c
    }

    /// Set every regular file's time to `ago` before now (symlinks and their targets untouched).
    pub fn age_all(&self, ago: Duration) -> &Self {
        let mut stack = vec![self.root().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("read dir")
                .filter_map(Result::ok)
            {
                let meta = entry.path().symlink_metadata().expect("metadata");
                let rel = entry
                    .path()
                    .strip_prefix(self.root())
                    .expect("under root")
                    .to_path_buf();
                if meta.is_dir() {
                    stack.push(entry.path());
                } else if meta.is_file() {
                    self.age(&rel.to_string_lossy(), ago);
                }
            }
        }
        self
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` to `rel` (directories created).
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.root().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directory");
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        let path = self.root().join(rel);
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        result.unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
        self
    }

    /// `cmd/<name>/main.go` with these defaults (Go expressions, see [`main_go`]).
    pub fn service(&self, name: &str, http: &str, grpc: Option<&str>) -> &Self {
        self.write(&format!("cmd/{name}/main.go"), &main_go(name, http, grpc))
    }

    /// `bin/<name>` as a symlink to the bundled stub (not a shell script: shells drop
    /// environment variables with dots in their names).
    pub fn bin_stub(&self, name: &str) -> &Self {
        let bin = self.root().join("bin");
        std::fs::create_dir_all(&bin).expect("bin/");
        std::os::unix::fs::symlink(stub_path(), bin.join(name)).expect("link bin/<name>");
        self
    }

    /// `bin/<name>` for every directory under `cmd/`.
    pub fn bin_all_stubs(&self) -> &Self {
        for name in self.cmd_names() {
            self.bin_stub(&name);
        }
        self
    }

    /// Names of the directories under `cmd/`, sorted.
    pub fn cmd_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root().join("cmd"))
            .expect("read cmd/")
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Set the modification time of `rel` to `ago` before now (not for `bin_stub` links: that
    /// would age the shared stub).
    pub fn age(&self, rel: &str, ago: Duration) -> &Self {
        let path = self.root().join(rel);
        let when = SystemTime::now() - ago;
        let file = File::options()
            .write(true)
            .open(&path)
            .or_else(|_| File::open(&path))
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        file.set_times(FileTimes::new().set_modified(when).set_accessed(when))
            .unwrap_or_else(|e| panic!("set times of {}: {e}", path.display()));
        self
    }

    /// `bin/<name>` as a small executable file of its own (for times; it is never run).
    pub fn bin_file(&self, name: &str) -> &Self {
        use std::os::unix::fs::PermissionsExt;
        let rel = format!("bin/{name}");
        self.write(&rel, "#!/bin/false\n");
        let path = self.root().join(rel);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }
}

/// The bundled stub built for these tests.
pub fn stub_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_anychat-stub"))
}
