//! Loading the configuration end to end, each test in a figment `Jail` (its own environment and
//! scratch directory; Jail serialises the tests that touch the process environment).

// figment's Jail hands each test closure its own `figment::Error` result type; its size is not ours.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;

#[test]
fn embedded_defaults_load_without_a_file() {
    Jail::expect_with(|_| {
        let settings = load(None).unwrap();
        assert_eq!(&*settings.leptos.output_name, "pulseboard");
        assert_eq!(settings.leptos.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(settings.pulseboard.streams.heartbeat_secs, 15);
        assert_eq!(settings.pulseboard.streams.publish_body_limit, 65536);
        Ok(())
    });
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "custom.toml",
            "[leptos]\nsite-addr = \"127.0.0.1:4000\"\n[pulseboard]\ndata-dir = \"/srv/pb\"\nheartbeat-secs = 30\n",
        )?;
        let settings = load(Some(Path::new("custom.toml"))).unwrap();
        assert_eq!(settings.leptos.site_addr.to_string(), "127.0.0.1:4000");
        assert_eq!(settings.pulseboard.server.data_dir, PathBuf::from("/srv/pb"));
        assert_eq!(settings.pulseboard.streams.heartbeat_secs, 30);
        // Keys the file does not name keep their defaults.
        assert_eq!(settings.pulseboard.streams.history_events, 1024);

        jail.set_env("PULSEBOARD_DATA_DIR", "/var/lib/pulseboard");
        jail.set_env("PULSEBOARD_HEARTBEAT_SECS", "5");
        jail.set_env("LEPTOS_SITE_ADDR", "127.0.0.1:5000");
        jail.set_env("LEPTOS_OUTPUT_NAME", "renamed");
        // Variables that are not settings of ours are ignored.
        jail.set_env("LEPTOS_WATCH", "true");
        jail.set_env("PULSEBOARD_CONFIG", "/somewhere/Leptos.toml");
        let settings = load(Some(Path::new("custom.toml"))).unwrap();
        assert_eq!(settings.pulseboard.server.data_dir, PathBuf::from("/var/lib/pulseboard"));
        assert_eq!(settings.pulseboard.streams.heartbeat_secs, 5);
        assert_eq!(settings.leptos.site_addr.to_string(), "127.0.0.1:5000");
        assert_eq!(&*settings.leptos.output_name, "renamed");
        Ok(())
    });
}

#[test]
fn local_file_is_found_when_none_is_named() {
    Jail::expect_with(|jail| {
        assert_eq!(resolve_path(None).unwrap(), None);
        jail.create_file("Leptos.toml", "[pulseboard]\nheartbeat-secs = 7\n")?;
        let path = resolve_path(None).unwrap();
        assert_eq!(path.as_deref(), Some(Path::new("Leptos.toml")));
        assert_eq!(load(path.as_deref()).unwrap().pulseboard.streams.heartbeat_secs, 7);
        Ok(())
    });
}

#[test]
fn missing_explicit_file_is_an_error_naming_it() {
    let err = resolve_path(Some(Path::new("/nonexistent/pulseboard.toml"))).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/pulseboard.toml"), "{err}");
}

#[test]
fn malformed_file_names_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file("broken.toml", "[pulseboard\nheartbeat-secs = ")?;
        let err = load(Some(Path::new("broken.toml"))).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ConfigError::Malformed { .. }), "{message}");
        assert!(message.contains("broken.toml"), "{message}");
        Ok(())
    });
}

#[test]
fn bad_value_in_file_names_file_and_key() {
    Jail::expect_with(|jail| {
        jail.create_file("typo.toml", "[pulseboard]\nheartbeat-secs = \"often\"\n")?;
        let message = load(Some(Path::new("typo.toml"))).unwrap_err().to_string();
        assert!(message.contains("heartbeat-secs"), "{message}");
        assert!(message.contains("typo.toml"), "{message}");
        Ok(())
    });
}

#[test]
fn unknown_key_is_refused() {
    Jail::expect_with(|jail| {
        jail.create_file("unknown.toml", "[pulseboard]\nheartbeat-sec = 3\n")?;
        let message = load(Some(Path::new("unknown.toml"))).unwrap_err().to_string();
        assert!(message.contains("heartbeat-sec"), "{message}");
        Ok(())
    });
}

#[test]
fn monitor_settings_are_range_checked() {
    Jail::expect_with(|jail| {
        assert_eq!(load(None).unwrap().pulseboard.monitor.interval_ms, 1000);
        jail.set_env("PULSEBOARD_MONITOR_INTERVAL_MS", "5");
        let message = load(None).unwrap_err().to_string();
        assert!(message.contains("monitor-interval-ms") && message.contains("100..=60000"), "{message}");
        jail.set_env("PULSEBOARD_MONITOR_INTERVAL_MS", "500");
        jail.set_env("PULSEBOARD_MONITOR_CPU_WARN", "95");
        let message = load(None).unwrap_err().to_string();
        assert!(message.contains("monitor-cpu-warn") && message.contains("above"), "{message}");
        jail.set_env("PULSEBOARD_MONITOR_CPU_WARN", "50");
        jail.set_env("PULSEBOARD_MONITOR_DISK_CRITICAL", "150");
        let message = load(None).unwrap_err().to_string();
        assert!(message.contains("monitor-disk-critical") && message.contains("percentage"), "{message}");
        jail.set_env("PULSEBOARD_MONITOR_DISK_CRITICAL", "99.5");
        let settings = load(None).unwrap().pulseboard;
        assert_eq!((settings.monitor.interval_ms, settings.monitor.cpu_warn), (500, 50.0));
        Ok(())
    });
}

#[test]
fn bad_env_value_names_the_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("PULSEBOARD_HISTORY_EVENTS", "lots");
        let message = load(None).unwrap_err().to_string();
        assert!(message.contains("history-events"), "{message}");
        assert!(message.contains("PULSEBOARD_HISTORY_EVENTS"), "{message}");
        Ok(())
    });
}

#[test]
fn unknown_environment_variable_is_ignored_with_its_name() {
    Jail::expect_with(|jail| {
        // What Kubernetes injects for a Service named pulseboard.
        jail.set_env("PULSEBOARD_PORT", "tcp://10.0.0.1:3000");
        jail.set_env("PULSEBOARD_SERVICE_HOST", "10.0.0.1");
        let settings = load(None).unwrap();
        let mut ignored = settings.ignored_variables.clone();
        ignored.sort();
        assert_eq!(ignored, ["PULSEBOARD_PORT", "PULSEBOARD_SERVICE_HOST"]);
        // Real settings from the environment still apply beside them.
        jail.set_env("PULSEBOARD_HEARTBEAT_SECS", "9");
        assert_eq!(load(None).unwrap().pulseboard.streams.heartbeat_secs, 9);
        Ok(())
    });
}

#[test]
fn every_documented_key_is_read_by_some_module() {
    Jail::expect_with(|_| {
        let table: toml::Table = EMBEDDED_DEFAULTS.parse().unwrap();
        let mut documented: Vec<String> = table["pulseboard"].as_table().unwrap().keys().cloned().collect();
        let mut known = load(None).unwrap().pulseboard.known_keys();
        documented.sort();
        known.sort();
        assert_eq!(documented, known);
        Ok(())
    });
}
