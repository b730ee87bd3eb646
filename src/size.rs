//! Memory sizes on the command line: `512M`, `2G`, `65536`.

/// The least memory worth booting: page tables, a stack and a program.
const MIN: u64 = 1 << 20;

/// Parses a byte count with an optional K, M or G suffix (powers of 1024),
/// refusing sizes below 1 MiB or beyond what the host has.
pub fn parse(s: &str) -> Result<usize, String> {
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 10),
        Some((i, 'm' | 'M')) => (&s[..i], 20),
        Some((i, 'g' | 'G')) => (&s[..i], 30),
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a size: {s:?} (try 512M or 2G)"))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("too large: {s}"))?;
    if bytes < MIN {
        return Err(format!("too small: {s} (at least 1M)"));
    }
    if let Some(host) = host_memory() {
        if bytes > host {
            return Err(format!(
                "{s} is more than the host's memory ({} MiB)",
                host >> 20
            ));
        }
    }
    usize::try_from(bytes).map_err(|_| format!("too large: {s}"))
}

/// RAM plus swap, from /proc/meminfo: the most the host will commit.
fn host_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = info.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib << 10)
    };
    Some(field("MemTotal:")? + field("SwapTotal:").unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn suffixes() {
        assert_eq!(parse("1M"), Ok(1 << 20));
        assert_eq!(parse("512m"), Ok(512 << 20));
        assert_eq!(parse("2048K"), Ok(2 << 20));
        assert_eq!(parse("1G"), Ok(1 << 30));
        assert_eq!(parse("4194304"), Ok(4 << 20));
    }

    #[test]
    fn rejects() {
        assert!(parse("").is_err());
        assert!(parse("G").is_err());
        assert!(parse("12X").is_err());
        assert!(parse("-1G").is_err());
        assert!(parse("4K").is_err());
        assert!(parse("99999999999G").is_err());
    }
}
