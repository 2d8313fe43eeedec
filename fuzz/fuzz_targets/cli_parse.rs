//! R2: the CLI parser (and completion, and rendering what it parsed) never panics, and what it parses
//! renders back to a line that parses to the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    if line.len() > 4096 {
        return;
    }
    if let Ok(command) = cluster::cli::parse(line) {
        let rendered = command.to_string();
        // Quoting can push a line near the limit past it; the limit then refuses it, as it should.
        if rendered.len() <= cluster::cli::MAX_LINE {
            let again = cluster::cli::parse(&rendered).expect("a rendered command parses");
            assert_eq!(again, command, "{rendered:?}");
        }
    }
    let _ = cluster::cli::complete(&FLEET, line);
});

static FLEET: std::sync::LazyLock<cluster::Fleet> = std::sync::LazyLock::new(cluster::fixture::americas);
