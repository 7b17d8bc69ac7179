//! DogStatsD metrics against a UDP listener on loopback that parses every datagram
//! (`name:value|type|#tag:value,...`), and an agent outage that must not fail or block anything.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use driftdeck::metrics_dogstatsd::{DogStatsd, DogStatsdSettings};

#[derive(Debug, PartialEq)]
struct Datagram {
    name: String,
    value: String,
    kind: String,
    tags: BTreeMap<String, String>,
}

fn parse(line: &str) -> Datagram {
    let (name, rest) = line.split_once(':').expect("name:");
    let mut parts = rest.split('|');
    let value = parts.next().expect("value").to_string();
    let kind = parts.next().expect("type").to_string();
    let mut tags = BTreeMap::new();
    for p in parts {
        if let Some(t) = p.strip_prefix('#') {
            for kv in t.split(',') {
                let (k, v) = kv.split_once(':').expect("tag k:v");
                tags.insert(k.to_string(), v.to_string());
            }
        }
    }
    Datagram {
        name: name.to_string(),
        value,
        kind,
        tags,
    }
}

fn receive(sock: &UdpSocket, n: usize) -> Vec<Datagram> {
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while out.len() < n {
        let len = sock.recv(&mut buf).expect("datagram within 5 s");
        for line in String::from_utf8_lossy(&buf[..len]).lines() {
            out.push(parse(line));
        }
    }
    out
}

#[test]
fn counters_gauges_and_timings_arrive_with_tags() {
    let listener = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let settings = DogStatsdSettings {
        address: Some(addr.to_string()),
        prefix: Some("dd_test".into()),
        tags: [("env".to_string(), "ci".to_string())]
            .into_iter()
            .collect(),
    };
    let none = |_: &str| None;
    let m = DogStatsd::from_settings(&settings, &none).expect("client");
    let tags = [
        ("model", "jfk_delay"),
        ("value_stream", "airports"),
        ("action", "refresh"),
    ];
    m.count("runs.started", 1, &tags);
    m.gauge("psi", 0.3125, &tags);
    m.timing("run.duration", Duration::from_millis(1234), &tags);
    m.gauge("csi", f64::NAN, &tags); // not sent
    m.count("refresh.rows_quarantined", 164, &tags);
    let got = receive(&listener, 4);
    assert_eq!(got.len(), 4, "{got:?}");
    let expected_tags: BTreeMap<String, String> = [
        ("model", "jfk_delay"),
        ("value_stream", "airports"),
        ("action", "refresh"),
        ("env", "ci"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got[0].name, "dd_test.runs.started");
    assert_eq!((got[0].value.as_str(), got[0].kind.as_str()), ("1", "c"));
    assert_eq!(got[1].name, "dd_test.psi");
    assert_eq!(
        (got[1].value.as_str(), got[1].kind.as_str()),
        ("0.3125", "g")
    );
    assert_eq!(got[2].name, "dd_test.run.duration");
    assert_eq!(
        (got[2].value.as_str(), got[2].kind.as_str()),
        ("1234", "ms")
    );
    assert_eq!(got[3].name, "dd_test.refresh.rows_quarantined");
    assert_eq!(got[3].value, "164");
    for d in &got {
        assert_eq!(d.tags, expected_tags, "{d:?}");
    }
}

#[test]
fn the_datadog_env_convention_picks_the_agent() {
    let listener = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let env = move |k: &str| match k {
        "DD_AGENT_HOST" => Some("127.0.0.1".to_string()),
        "DD_DOGSTATSD_PORT" => Some(port.clone()),
        _ => None,
    };
    let settings = DogStatsdSettings {
        address: Some("127.0.0.1:1".into()),
        ..Default::default()
    };
    let m = DogStatsd::from_settings(&settings, &env).expect("client");
    m.count("runs.failed", 1, &[("model", "m")]);
    let got = receive(&listener, 1);
    assert_eq!(got[0].name, "driftdeck.runs.failed");
}

#[test]
fn an_agent_outage_never_fails_or_blocks() {
    // A port nobody listens on: ICMP "port unreachable" makes later sends fail; every call
    // must return at once without panicking.
    let dead = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = dead.local_addr().expect("addr");
    drop(dead);
    let settings = DogStatsdSettings {
        address: Some(addr.to_string()),
        ..Default::default()
    };
    let none = |_: &str| None;
    let m = DogStatsd::from_settings(&settings, &none).expect("client");
    let start = Instant::now();
    for i in 0..2000 {
        m.count("runs.started", 1, &[("model", "m")]);
        m.gauge("psi", f64::from(i) / 10.0, &[("model", "m")]);
    }
    // Not a timing assertion on speed: a blocking client would wait on a socket for seconds.
    assert!(start.elapsed() < Duration::from_secs(30));
    // An unresolvable host is a setup error naming the address, not a panic.
    let bad = DogStatsdSettings {
        address: Some("no-such-host.invalid:8125".into()),
        ..Default::default()
    };
    let err = DogStatsd::from_settings(&bad, &none).expect_err("unresolvable");
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
}
