//! `kvasir-check-aof`: checks an AOF as `valkey-check-aof` does — a multi-part AOF through
//! its manifest (the base file, RDB or commands, then every incr file), or a single file — and
//! with `--fix` cuts a truncated tail off the last file, after the last whole command.
//!
//! Usage: kvasir-check-aof [--fix] <file.manifest|file.aof>

use engine::aof::manifest::Manifest;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(PartialEq, Eq)]
enum Status {
    Valid,
    Empty,
    Truncated,
}

/// Parses the commands of an AOF file; returns the offset of the end of the last whole
/// command (outside MULTI), its line, and the error that stopped the parse, if any.
fn scan_commands(data: &mut impl BufRead, start: u64) -> (u64, u64, Option<String>) {
    let mut pos = start;
    let mut line_no = 1u64;
    let mut ok_up_to = start;
    let mut ok_line = 1u64;
    let mut in_multi = false;
    let mut line = Vec::new();
    let read_line = |data: &mut dyn BufRead, line: &mut Vec<u8>, pos: &mut u64, line_no: &mut u64| -> bool {
        line.clear();
        match data.read_until(b'\n', line) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                *pos += n as u64;
                *line_no += 1;
                true
            }
        }
    };
    loop {
        let header_at = pos;
        if !read_line(data, &mut line, &mut pos, &mut line_no) {
            if in_multi {
                return (
                    ok_up_to,
                    ok_line,
                    Some(format!("0x{ok_up_to:16x}: Reached EOF before reading EXEC for MULTI")),
                );
            }
            return (ok_up_to, ok_line, None);
        }
        if line[0] == b'#' {
            if !in_multi {
                ok_up_to = pos;
                ok_line = line_no;
            }
            continue;
        }
        if line[0] != b'*' || !line.ends_with(b"\r\n") {
            return (
                ok_up_to,
                ok_line,
                Some(format!("0x{header_at:16x}: Expected prefix '*', got: '{}'", line[0] as char)),
            );
        }
        let argc: i64 = std::str::from_utf8(&line[1..line.len() - 2]).ok().and_then(|s| s.parse().ok()).unwrap_or(-1);
        if argc < 1 {
            return (ok_up_to, ok_line, Some(format!("0x{header_at:16x}: Invalid argument count")));
        }
        let mut first = Vec::new();
        for i in 0..argc {
            let at = pos;
            if !read_line(data, &mut line, &mut pos, &mut line_no) {
                return (ok_up_to, ok_line, Some(format!("0x{at:16x}: Premature end of file")));
            }
            if line[0] != b'$' || !line.ends_with(b"\r\n") {
                return (
                    ok_up_to,
                    ok_line,
                    Some(format!("0x{at:16x}: Expected prefix '$', got: '{}'", line[0] as char)),
                );
            }
            let len: i64 =
                std::str::from_utf8(&line[1..line.len() - 2]).ok().and_then(|s| s.parse().ok()).unwrap_or(-1);
            if len < 0 {
                return (ok_up_to, ok_line, Some(format!("0x{at:16x}: Invalid bulk length")));
            }
            let mut arg = Vec::new();
            let got = (&mut *data).take(len as u64 + 2).read_to_end(&mut arg).unwrap_or(0);
            pos += got as u64;
            if got as i64 != len + 2 {
                return (ok_up_to, ok_line, Some(format!("0x{pos:16x}: Premature end of file")));
            }
            if &arg[len as usize..] != b"\r\n" {
                return (ok_up_to, ok_line, Some(format!("0x{pos:16x}: Expected \\r\\n, got something else")));
            }
            line_no += 1;
            if i == 0 {
                first = arg[..len as usize].to_ascii_lowercase();
            }
        }
        match first.as_slice() {
            b"multi" if in_multi => {
                return (ok_up_to, ok_line, Some(format!("0x{header_at:16x}: Unexpected MULTI")));
            }
            b"multi" => in_multi = true,
            b"exec" if !in_multi => {
                return (ok_up_to, ok_line, Some(format!("0x{header_at:16x}: Unexpected EXEC")));
            }
            b"exec" => in_multi = false,
            _ => {}
        }
        if !in_multi {
            ok_up_to = pos;
            ok_line = line_no;
        }
    }
}

/// Checks one file. `last` allows fixing it.
fn check_file(path: &Path, fix: bool, last: bool) -> Result<Status, ()> {
    let name = path.display().to_string();
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            println!("Cannot open file {name}: {e}, aborting...");
            return Err(());
        }
    };
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    if size == 0 {
        return Ok(Status::Empty);
    }
    let mut sig = [0u8; 5];
    if f.read_exact(&mut sig).is_ok() && &sig == b"REDIS" {
        let opts = engine::rdb::file::LoadOptions {
            limits: engine::rdb::Limits::from_config(&engine::config::Config::defaults().hot),
            databases: usize::MAX,
            drop_expired_before: None,
            verify_checksum: true,
        };
        let progress = std::sync::atomic::AtomicU64::new(0);
        let src = BufReader::new(std::fs::File::open(path).map_err(|_| ())?);
        return match engine::rdb::file::load(src, &opts, |_| Ok(()), |_, _| {}, &progress) {
            Ok(_) => {
                println!("RDB preamble is OK, proceeding with AOF tail...");
                Ok(Status::Valid)
            }
            Err(e) => {
                println!("RDB preamble of AOF file is not sane, aborting.");
                println!("Error at offset {} of {name}: {}", e.offset, e.reason);
                Err(())
            }
        };
    }
    let mut r = BufReader::new(std::fs::File::open(path).map_err(|_| ())?);
    let (ok_up_to, ok_line, error) = scan_commands(&mut r, 0);
    let Some(error) = error else { return Ok(Status::Valid) };
    println!("{error}");
    println!(
        "AOF analyzed: filename={name}, size={size}, ok_up_to={ok_up_to}, ok_up_to_line={ok_line}, diff={}",
        size - ok_up_to
    );
    if !fix {
        println!("AOF {name} is not valid. Use the --fix option to try fixing it.");
        return Err(());
    }
    if !last {
        println!("Failed to truncate AOF {name} because it is not the last file");
        return Err(());
    }
    println!("This will shrink the AOF {name} from {size} bytes, with {} bytes, to {ok_up_to} bytes", size - ok_up_to);
    let cut = std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(ok_up_to));
    if cut.is_err() {
        println!("Failed to truncate AOF {name}");
        return Err(());
    }
    Ok(Status::Truncated)
}

fn report(kind: &str, path: &Path, s: &Status) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match s {
        Status::Valid => println!("{kind} {name} is valid"),
        Status::Empty => println!("{kind} {name} is empty"),
        Status::Truncated => println!("Successfully truncated AOF {name}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (fix, file) = match args.as_slice() {
        [f] if f != "--fix" => (false, f.clone()),
        [flag, f] if flag == "--fix" => (true, f.clone()),
        _ => {
            println!("Usage: kvasir-check-aof [--fix] <file.manifest|file.aof>");
            std::process::exit(1);
        }
    };
    let path = PathBuf::from(&file);
    let ok = if file.ends_with(".manifest") {
        println!("Start checking Multi Part AOF");
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => {
                println!("Cannot open file {file}: {e}");
                std::process::exit(1);
            }
        };
        let m = match Manifest::parse(&text) {
            Ok(m) => m,
            Err(e) => {
                println!("Invalid AOF manifest file format: {} (line {})", e.msg, e.line);
                std::process::exit(1);
            }
        };
        let files = m.load_order();
        let n = files.len();
        let mut ok = true;
        for (i, f) in files.iter().enumerate() {
            let p = dir.join(&f.name);
            let is_base = m.base.as_ref().is_some_and(|b| b.name == f.name);
            if is_base {
                println!("Start to check BASE AOF.");
            } else if i == usize::from(m.base.is_some()) {
                println!("Start to check INCR files.");
            }
            match check_file(&p, fix, i + 1 == n) {
                Ok(s) => report(if is_base { "BASE AOF" } else { "INCR AOF" }, &p, &s),
                Err(()) => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            println!("All AOF files and manifest are valid");
        }
        ok
    } else {
        println!("Start checking Old-Style AOF");
        match check_file(&path, fix, true) {
            Ok(s) => {
                report("AOF", &path, &s);
                true
            }
            Err(()) => false,
        }
    };
    std::process::exit(if ok { 0 } else { 1 });
}
