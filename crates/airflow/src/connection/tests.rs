use super::*;

fn uri(text: &str) -> AirflowConnection {
    AirflowConnection::from_uri(text).unwrap()
}

fn pw(c: &AirflowConnection) -> Option<&str> {
    c.password.as_ref().map(ExposeSecret::expose_secret)
}

fn extra(c: &AirflowConnection) -> Option<&str> {
    c.extra().map(ExposeSecret::expose_secret)
}

#[test]
fn uris_read_like_airflow() {
    let c = uri("postgresql://us%40er:p%40ss%3Aw%2Frd@db.example:5432/my%2Fdb?sslmode=require&x=1");
    assert_eq!(c.conn_type.as_deref(), Some("postgres"));
    assert_eq!(c.login.as_deref(), Some("us@er"));
    assert_eq!(pw(&c), Some("p@ss:w/rd"));
    assert_eq!(c.host.as_deref(), Some("db.example"));
    assert_eq!(c.port, Some(5432));
    assert_eq!(c.schema.as_deref(), Some("my/db"));
    // The Task SDK keeps flattened values as strings.
    assert_eq!(extra(&c), Some(r#"{"sslmode": "require", "x": "1"}"#));

    let c = uri("google-cloud-platform://");
    assert_eq!(c.conn_type.as_deref(), Some("google_cloud_platform"));
    assert_eq!(
        (c.host.as_deref(), c.schema.as_deref()),
        (Some(""), Some(""))
    );
    assert_eq!((c.login.as_deref(), pw(&c), c.port), (None, None, None));

    let c = uri("http://https://Example.com:443/api");
    assert_eq!(c.host.as_deref(), Some("https://example.com"));
    assert_eq!(c.port, Some(443));
    assert_eq!(c.schema.as_deref(), Some("api"));

    let c = uri("aws://?__extra__=%7B%22role%22%3A+%5B1%2C+2%5D%7D");
    assert_eq!(extra(&c), Some(r#"{"role": [1, 2]}"#));

    // A host that unquotes to a path keeps its case.
    let c = uri("file://Some%2FPath");
    assert_eq!(c.host.as_deref(), Some("Some/Path"));

    for bad in [
        "a://b://c://d",
        "http://user@https://host",
        "pg://h:port",
        "pg://h:70000",
        "pg://[::1/x",
        "aws://?__extra__=%5B1%5D",
    ] {
        let err = AirflowConnection::from_uri(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidConnection { .. }), "{bad}");
    }
}

#[test]
fn uris_written_like_get_uri() {
    // Connection(conn_type=..., ...).get_uri() in Airflow 3.3.
    let mut c = AirflowConnection {
        conn_type: Some("google_cloud_platform".into()),
        host: Some("db.example".into()),
        login: Some("us er".into()),
        password: Some("p@ss:w/rd?#&= +".into()),
        port: Some(5432),
        schema: Some("my db".into()),
        ..AirflowConnection::default()
    };
    c.set_extra(Some(r#"{"a": "x y", "b": "c&d=e"}"#)).unwrap();
    assert_eq!(
        c.to_uri().unwrap(),
        "google-cloud-platform://us%20er:p%40ss%3Aw%2Frd%3F%23%26%3D%20%2B@db.example:5432/my%20db?a=x+y&b=c%26d%3De"
    );
    c.set_extra(Some(r#"{"a": 1}"#)).unwrap();
    c.schema = None;
    assert_eq!(
        c.to_uri().unwrap(),
        "google-cloud-platform://us%20er:p%40ss%3Aw%2Frd%3F%23%26%3D%20%2B@db.example:5432/?__extra__=%7B%22a%22%3A+1%7D"
    );
    let bare = AirflowConnection {
        port: Some(80),
        ..AirflowConnection::default()
    };
    assert_eq!(bare.to_uri().unwrap(), "//@:80");
    let protocol = AirflowConnection {
        conn_type: Some("http".into()),
        host: Some("https://api.example".into()),
        ..AirflowConnection::default()
    };
    assert_eq!(protocol.to_uri().unwrap(), "http://https://api.example");
    let same_protocol = AirflowConnection {
        conn_type: Some("http".into()),
        host: Some("http://api.example".into()),
        ..AirflowConnection::default()
    };
    assert_eq!(
        same_protocol.to_uri().unwrap(),
        "http://http%3A%2F%2Fapi.example"
    );
}

#[test]
fn extras_are_flattened_only_when_every_reader_agrees() {
    let mut c = AirflowConnection::default();
    for (text, flat) in [
        (r#"{"k": "v"}"#, true),
        (r#"{"k": ""}"#, true),
        (r#"{"k": "123"}"#, false),
        (r#"{"k": "true"}"#, false),
        (r#"{"k": " NaN "}"#, false),
        (r#"{"k": "\"q\""}"#, false),
        (r#"{"__extra__": "x"}"#, false),
        (r#"{"k": 1}"#, false),
    ] {
        c.set_extra(Some(text)).unwrap();
        let written = c.to_uri().unwrap();
        assert_eq!(!written.contains(EXTRA_KEY), flat, "{text}: {written}");
        let back = AirflowConnection::from_uri(&written).unwrap();
        let parsed = |c: &AirflowConnection| pyjson::loads(extra(c).unwrap()).unwrap();
        assert_eq!(parsed(&back), parsed(&c), "{text}");
    }
}

#[test]
fn json_reads_and_writes_like_airflow() {
    let c = AirflowConnection::parse(
        "  {\"conn_type\": \"postgresql\", \"host\": \"H\", \"port\": \"5432\", \"login\": \"\", \"description\": \"d\u{e9}\", \"extra\": {\"b\": 1, \"a\": {\"x\": [1.0, null]}}}\n",
    )
    .unwrap();
    assert_eq!(c.conn_type.as_deref(), Some("postgres"));
    assert_eq!(c.port, Some(5432));
    assert_eq!(c.login.as_deref(), Some(""));
    assert_eq!(extra(&c), Some(r#"{"b": 1, "a": {"x": [1.0, null]}}"#));
    // Connection.as_json(): set fields in Airflow's order, then extra.
    assert_eq!(
        c.to_json(),
        r#"{"conn_type": "postgres", "description": "d\u00e9", "host": "H", "login": "", "port": 5432, "extra": {"b": 1, "a": {"x": [1.0, null]}}}"#
    );
    assert_eq!(
        c.to_dict_json("pg"),
        r#"{"conn_id": "pg", "conn_type": "postgres", "description": "d\u00e9", "host": "H", "login": "", "password": null, "schema": null, "port": 5432, "extra": {"b": 1, "a": {"x": [1.0, null]}}}"#
    );
    let c = AirflowConnection::from_json(r#"{"port": 0, "extra": {}, "conn_type": ""}"#).unwrap();
    assert_eq!(
        (c.port, extra(&c), c.conn_type.as_deref()),
        (None, None, None)
    );
    assert_eq!(c.to_json(), "{}");
    let c = AirflowConnection::from_json(r#"{"extra": "{\"k\": \"v\"}", "port": 5432.9}"#).unwrap();
    assert_eq!((extra(&c), c.port), (Some(r#"{"k": "v"}"#), Some(5432)));
    assert_eq!(c.to_json(), r#"{"port": 5432, "extra": {"k": "v"}}"#);

    for bad in [
        "[1]",
        r#"{"conn_id": "x"}"#,
        r#"{"team_name": "x"}"#,
        r#"{"host": 1}"#,
        r#"{"port": "54 32"}"#,
        r#"{"extra": [1]}"#,
        r#"{"extra": "not json"}"#,
        r#"{"password": "s3cret""#,
    ] {
        let err = AirflowConnection::from_json(bad).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}

#[test]
fn uri_losses_name_what_the_uri_form_drops() {
    let c = AirflowConnection {
        conn_type: Some("postgres".into()),
        description: Some("prod".into()),
        host: Some("DB.example".into()),
        password: Some("p".into()),
        ..AirflowConnection::default()
    };
    assert_eq!(c.uri_losses().unwrap(), ["description", "host"]);
    let fine = AirflowConnection {
        host: Some("db.example".into()),
        ..c
    };
    assert_eq!(fine.uri_losses().unwrap(), ["description"]);
}

#[test]
fn debug_redacts_password_and_extras() {
    let mut c = AirflowConnection {
        password: Some("s3cret".into()),
        ..AirflowConnection::default()
    };
    c.set_extra(Some(r#"{"token": "t0ken"}"#)).unwrap();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("s3cret") && !shown.contains("t0ken"),
        "{shown}"
    );
}
