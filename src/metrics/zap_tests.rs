//! Request lines in the shape AnyChat's services log them, and broken ones.

use super::*;

const GRPC_OK: &str = r#"{"level":"info","ts":1764620000.123456,"caller":"interceptor/logging.go:42","msg":"gRPC request completed","service":"auth-service","method":"/anychat.auth.v1.AuthService/Login","duration":0.004211,"status":"OK"}"#;
const GRPC_FAILED: &str = r#"{"level":"error","ts":1764620000.2,"caller":"interceptor/logging.go:38","msg":"gRPC request failed","service":"auth-service","method":"/anychat.auth.v1.AuthService/Login","duration":0.25,"status":"Unavailable","error":"rpc error: code = Unavailable desc = connection refused","stacktrace":"main.run\n\t/app/x.go:1"}"#;
const HTTP_OK: &str = r#"{"level":"info","ts":1764620001.5,"caller":"middleware/logger.go:30","msg":"HTTP Request","service":"gateway-service","method":"GET","path":"/api/v1/users/12345?fields=name","status":200,"cost":"1.234ms","ip":"10.0.0.7"}"#;
const HTTP_503_NUMERIC_COST: &str = r#"{"level":"error","ts":1764620001.6,"caller":"middleware/logger.go:30","msg":"HTTP Request","service":"admin-service","method":"POST","path":"/api/v1/admin/users","status":503,"cost":0.8}"#;

#[test]
fn grpc_lines() {
    let ok = parse_request(GRPC_OK).expect("valid").expect("a request");
    assert_eq!(ok.proto, Proto::Grpc);
    assert_eq!(ok.method, "/anychat.auth.v1.AuthService/Login");
    assert_eq!(ok.seconds, Some(0.004211));
    assert!(!ok.error);
    let failed = parse_request(GRPC_FAILED)
        .expect("valid")
        .expect("a request");
    assert!(failed.error);
    assert_eq!(failed.seconds, Some(0.25));
    // Numeric codes, and a non-OK status on a "completed" line.
    let line = GRPC_OK.replace(r#""status":"OK""#, r#""status":5"#);
    assert!(parse_request(&line).expect("valid").expect("req").error);
    let line = GRPC_OK.replace(r#""status":"OK""#, r#""status":0"#);
    assert!(!parse_request(&line).expect("valid").expect("req").error);
    // Duration as a Go string works too.
    let line = GRPC_OK.replace("0.004211", r#""4.2ms""#);
    let req = parse_request(&line).expect("valid").expect("req");
    assert!(req.seconds.is_some_and(|s| (s - 0.0042).abs() < 1e-12));
}

#[test]
fn http_lines() {
    let ok = parse_request(HTTP_OK).expect("valid").expect("a request");
    assert_eq!(ok.proto, Proto::Http);
    assert_eq!(ok.method, "GET /api/v1/users/:id");
    assert!(ok.seconds.is_some_and(|s| (s - 0.001234).abs() < 1e-12));
    assert!(!ok.error);
    let failed = parse_request(HTTP_503_NUMERIC_COST)
        .expect("valid")
        .expect("a request");
    assert!(failed.error, "5xx is an error");
    assert_eq!(failed.seconds, Some(0.8));
    // 4xx is the client's fault, not an error of the service.
    let line = HTTP_OK.replace(r#""status":200"#, r#""status":404"#);
    assert!(!parse_request(&line).expect("valid").expect("req").error);
    // A string status is read; an unreadable cost leaves the latency out but counts the request.
    let line = HTTP_OK
        .replace(r#""status":200"#, r#""status":"502""#)
        .replace(r#""1.234ms""#, r#""soon""#);
    let req = parse_request(&line).expect("valid").expect("req");
    assert!(req.error);
    assert_eq!(req.seconds, None);
}

#[test]
fn other_and_broken_lines() {
    for other in [
        "",
        "plain text from fmt.Println",
        r#"{"level":"info","msg":"starting","service":"x"}"#,
        r#"{"level":"info","msg":"HTTP Request mentioned, but not the message"}"#,
    ] {
        assert_eq!(parse_request(other), Ok(None), "{other:?}");
    }
    // Cut in the middle (the 64 KiB cut, a crash mid-write).
    let truncated = &GRPC_OK[..GRPC_OK.len() / 2];
    assert_eq!(parse_request(truncated), Err(Malformed::NotJson));
    assert_eq!(parse_request("{\"level\":"), Err(Malformed::NotJson));
    let no_method = GRPC_OK.replace(r#""method":"/anychat.auth.v1.AuthService/Login","#, "");
    assert_eq!(parse_request(&no_method), Err(Malformed::MissingField));
    let bad_status = HTTP_OK.replace(r#""status":200"#, r#""status":"teapot""#);
    assert_eq!(parse_request(&bad_status), Err(Malformed::MissingField));
}

#[test]
fn ids_are_folded() {
    assert_eq!(
        fold_ids("/api/v1/users/42/friends"),
        "/api/v1/users/:id/friends"
    );
    assert_eq!(
        fold_ids("/api/v1/files/0f8fad5b-d9cb-469f-a165-70867728950e"),
        "/api/v1/files/:id"
    );
    assert_eq!(fold_ids("/api/v1/auth/login?next=/"), "/api/v1/auth/login");
    assert_eq!(fold_ids("/"), "/");
}
