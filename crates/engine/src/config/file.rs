//! Loading configuration: a valkey.conf-syntax file followed by `--directive value` overrides,
//! with Valkey's fatal-error report for a bad line; and CONFIG REWRITE, which rewrites the file
//! in place, keeping comments and the order of lines.

use super::params::{Kind, Special};
use super::{flags, Config};
use resp::request::split_inline_args;

/// One directive occurrence: the words of a line, and the line it came from for errors.
struct Line {
    number: usize,
    text: String,
    words: Vec<Vec<u8>>,
}

/// The text Valkey prints (and exits with) for a bad configuration line.
fn fatal(line: &Line, reason: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (Version {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
        crate::VALKEY_VERSION,
        line.number,
        line.text,
        reason
    )
}

fn lines_of(text: &str, first_number: usize, out: &mut Vec<Line>) -> Result<(), String> {
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut words = Vec::new();
        let line = Line { number: first_number + i, text: trimmed.to_string(), words: Vec::new() };
        if split_inline_args(trimmed.as_bytes(), &mut words).is_err() {
            return Err(fatal(&line, "Unbalanced quotes in configuration line"));
        }
        if words.is_empty() {
            continue;
        }
        out.push(Line { words, ..line });
    }
    Ok(())
}

/// Builds the configuration from an optional file and command-line `--name value...` options
/// (already split into words, in order).
pub fn load(file: Option<&std::path::Path>, options: &[String]) -> Result<Config, String> {
    let mut lines = Vec::new();
    let mut text_lines = 0;
    if let Some(path) = file {
        let text = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| e.to_string())?;
            s
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "Fatal error, can't open config file '{}': {}",
                    path.display(),
                    super::params::io_error_text(&e)
                )
            })?
        };
        text_lines = text.lines().count();
        lines_of(&text, 1, &mut lines)?;
        expand_includes(&mut lines)?;
    }
    // Command-line options become lines after the file: `--port 7000` is `port 7000`.
    let mut n = text_lines;
    for opt in options {
        if let Some(name) = opt.strip_prefix("--") {
            n += 1;
            lines.push(Line { number: n, text: name.to_string(), words: vec![name.as_bytes().to_vec()] });
        } else if let Some(last) = lines.last_mut().filter(|l| l.number > text_lines) {
            last.words.push(opt.as_bytes().to_vec());
            last.text.push(' ');
            last.text.push_str(&quote_if_needed(opt));
        } else {
            return Err(format!("Invalid option '{opt}'"));
        }
    }
    let mut config = Config::defaults();
    config.file =
        file.filter(|p| p.as_os_str() != "-").map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
    apply_lines(&config, &lines)?;
    Ok(config)
}

fn quote_if_needed(s: &str) -> String {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

fn expand_includes(lines: &mut Vec<Line>) -> Result<(), String> {
    let mut depth = 0;
    while let Some(pos) = lines.iter().position(|l| l.words[0].eq_ignore_ascii_case(b"include")) {
        depth += 1;
        let line = lines.remove(pos);
        if line.words.len() != 2 || depth > 32 {
            return Err(fatal(&line, "Bad directive or wrong number of arguments"));
        }
        let path = String::from_utf8_lossy(&line.words[1]).into_owned();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            fatal(&line, &format!("Can't open included file '{path}': {}", super::params::io_error_text(&e)))
        })?;
        let mut inner = Vec::new();
        lines_of(&text, 1, &mut inner)?;
        for (i, l) in inner.into_iter().enumerate() {
            lines.insert(pos + i, l);
        }
    }
    Ok(())
}

fn apply_lines(config: &Config, lines: &[Line]) -> Result<(), String> {
    // `save` lines accumulate; the first one replaces the default list.
    let mut save_points: Option<Vec<String>> = None;
    for line in lines {
        let name = String::from_utf8_lossy(&line.words[0]).to_ascii_lowercase();
        let args: Vec<&[u8]> = line.words[1..].iter().map(|w| w.as_slice()).collect();
        let Some(p) = config.param(&name) else {
            let reason = match name.as_str() {
                "rename-command" | "user" | "loadmodule" | "sentinel" => {
                    format!("'{name}' is not supported by Kvasir yet")
                }
                _ => "Bad directive or wrong number of arguments".to_string(),
            };
            return Err(fatal(line, &reason));
        };
        if args.is_empty() || (p.flags & flags::MULTI_ARG == 0 && args.len() != 1) {
            return Err(fatal(line, "Bad directive or wrong number of arguments"));
        }
        let result = match p.kind {
            Kind::Special(Special::Save) => {
                let canonical = Config::canonicalize(p, &args).map_err(|e| fatal(line, &e.0))?;
                let list = save_points.get_or_insert_with(Vec::new);
                if canonical.is_empty() {
                    list.clear();
                } else {
                    list.push(canonical);
                }
                continue;
            }
            _ => config.set(p.name, &args),
        };
        result.map_err(|e| fatal(line, &e.0))?;
    }
    if let Some(points) = save_points {
        let joined = points.join(" ");
        let words: Vec<&[u8]> = joined.split(' ').map(|w| w.as_bytes()).collect();
        config.set("save", &words).map_err(|e| e.0)?;
    }
    Ok(())
}

/// The config-file form of a directive's value (quoted where needed).
fn file_value(name: &str, value: &str, multi: bool) -> Vec<String> {
    if name == "save" && value.is_empty() {
        return vec!["save \"\"".to_string()];
    }
    if name == "client-output-buffer-limit" {
        return value.split(' ').collect::<Vec<_>>().chunks(4).map(|g| format!("{name} {}", g.join(" "))).collect();
    }
    if multi {
        return vec![format!("{name} {}", value.split(' ').map(quote_if_needed).collect::<Vec<_>>().join(" "))];
    }
    vec![format!("{name} {}", quote_if_needed(value))]
}

/// CONFIG REWRITE: rewrites the config file so that it reflects the running configuration.
/// Lines of directives that differ from the file are replaced in place; directives that are
/// at their default and absent from the file stay absent; new ones are appended after a
/// marker comment, as Valkey does. Comments and blank lines are kept.
pub fn rewrite(config: &Config) -> Result<(), String> {
    let Some(path) = &config.file else {
        return Err("ERR The server is running without a config file".to_string());
    };
    let old = std::fs::read_to_string(path).unwrap_or_default();
    const MARKER: &str = "# Generated by CONFIG REWRITE";
    let mut out: Vec<String> = Vec::new();
    let mut written: std::collections::HashSet<&'static str> = Default::default();
    let current = config.all();
    let lookup = |name: &str| current.iter().find(|(p, _)| p.name == name || p.alias == Some(name));
    for raw in old.lines() {
        if raw.trim() == MARKER {
            continue;
        }
        let trimmed = raw.trim();
        let mut words = Vec::new();
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || split_inline_args(trimmed.as_bytes(), &mut words).is_err()
            || words.is_empty()
        {
            out.push(raw.to_string());
            continue;
        }
        let name = String::from_utf8_lossy(&words[0]).to_ascii_lowercase();
        match lookup(&name) {
            Some((p, value)) => {
                if written.insert(p.name) {
                    let is_default = *value == p.default;
                    if !(is_default && p.flags & flags::MULTI_ARG != 0 && value.is_empty()) {
                        out.extend(file_value(p.name, value, p.flags & flags::MULTI_ARG != 0));
                    }
                }
                // Later lines of the same directive are folded into the first.
            }
            None => out.push(raw.to_string()),
        }
    }
    let mut appended = false;
    for (p, value) in &current {
        if written.contains(p.name) || *value == p.default || p.flags & flags::IMMUTABLE != 0 && p.name != "databases" {
            continue;
        }
        if p.name == "dir" {
            continue;
        }
        if !appended {
            out.push(MARKER.to_string());
            appended = true;
        }
        out.extend(file_value(p.name, value, p.flags & flags::MULTI_ARG != 0));
    }
    let mut text = out.join("\n");
    text.push('\n');
    let tmp = path.with_extension("rewrite.tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| format!("ERR Rewriting config file: {}", super::params::io_error_text(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config file in a directory of its own, removed with it when dropped.
    struct TempConf(std::path::PathBuf);

    impl std::ops::Deref for TempConf {
        type Target = std::path::Path;
        fn deref(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for TempConf {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    fn write_temp(name: &str, text: &str) -> TempConf {
        let dir = std::env::temp_dir().join(format!("kvasir-cfg-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("kvasir.conf");
        std::fs::write(&p, text).unwrap();
        TempConf(p)
    }

    #[test]
    fn file_then_options() {
        let p = write_temp("a", "# comment\nport 7000\nsave 900 1\nsave 300 10\nmaxmemory 1gb\n");
        let c = load(Some(&p), &["--port".into(), "7001".into(), "--requirepass".into(), "secret".into()]).unwrap();
        assert_eq!(c.get("port"), "7001");
        assert_eq!(c.get("save"), "900 1 300 10");
        assert_eq!(c.get("maxmemory"), "1073741824");
        assert_eq!(c.requirepass(), Some(b"secret".to_vec()));
        let c = load(None, &["--save".into(), "".into()]).unwrap();
        assert_eq!(c.get("save"), "");
    }

    #[test]
    fn output_buffer_limit_lines_change_only_their_classes() {
        let p = write_temp(
            "obl",
            "client-output-buffer-limit pubsub 1mb 256kb 60
client-output-buffer-limit normal 0 0 0
",
        );
        let c = load(Some(&p), &[]).unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 262144 60"
        );
        let limit = c.hot.output_limit(crate::client::ClientType::Pubsub);
        assert_eq!((limit.hard, limit.soft, limit.soft_secs), (1048576, 262144, 60));
        let args: Vec<String> = ["--client-output-buffer-limit", "replica", "1", "2", "3"].map(String::from).to_vec();
        let c = load(None, &args).unwrap();
        assert_eq!(c.get("client-output-buffer-limit"), "normal 0 0 0 slave 1 2 3 pubsub 33554432 8388608 60");
    }

    #[test]
    fn bad_lines_are_fatal_and_named() {
        let p = write_temp("b", "port 7000\n\nfoo bar\n");
        let err = load(Some(&p), &[]).err().unwrap();
        assert!(err.contains("at line 3"), "{err}");
        assert!(err.contains(">>> 'foo bar'"), "{err}");
        assert!(err.contains("Bad directive or wrong number of arguments"), "{err}");
        let p = write_temp("c", "maxmemory lots\n");
        let err = load(Some(&p), &[]).err().unwrap();
        assert!(err.contains("argument must be a memory value"), "{err}");
    }

    #[test]
    fn rewrite_keeps_comments_and_updates_values() {
        let p = write_temp("d", "# my server\nport 7000\n# limits\nmaxclients 100\n");
        let c = load(Some(&p), &[]).unwrap();
        c.set_many(&[(b"maxclients", b"200"), (b"hz", b"50")], true, false).unwrap();
        rewrite(&c).unwrap();
        let text = std::fs::read_to_string(&*p).unwrap();
        assert!(text.starts_with("# my server\nport 7000\n# limits\nmaxclients 200\n"), "{text}");
        assert!(text.contains("hz 50"), "{text}");
        let again = load(Some(&p), &[]).unwrap();
        assert_eq!(again.get("hz"), "50");
    }
}
