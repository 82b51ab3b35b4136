//! Selecting cases by name: `phase::case` matched by substring, or by glob when the
//! filter has `*` or `?` (a glob must match the whole name).

/// True when no filter is given or any filter matches `name`.
pub fn matches(filters: &[String], name: &str) -> bool {
    filters.is_empty() || filters.iter().any(|f| matches_one(f, name))
}

fn matches_one(filter: &str, name: &str) -> bool {
    if filter.contains(['*', '?']) {
        glob(filter.as_bytes(), name.as_bytes())
    } else {
        name.contains(filter)
    }
}

/// Iterative wildcard match with single backtracking point (linear in practice, no
/// exponential blow-up on patterns like `*a*a*a`).
fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn substring_and_glob() {
        assert!(matches(&[], "a::b"));
        assert!(matches(&f(&["scoped"]), "scoped_keys::create_key"));
        assert!(!matches(&f(&["pam"]), "scoped_keys::create_key"));
        assert!(matches(&f(&["scoped_keys::*"]), "scoped_keys::create_key"));
        assert!(!matches(
            &f(&["scoped_keys::*"]),
            "xscoped_keys::create_key"
        ));
        assert!(matches(&f(&["*::create_?ey"]), "scoped_keys::create_key"));
        assert!(!matches(&f(&["*::create"]), "scoped_keys::create_key"));
        assert!(matches(&f(&["nope", "*key"]), "scoped_keys::create_key"));
        assert!(matches(&f(&["a*b*c"]), "aXXbYYc"));
        assert!(!matches(&f(&["a*b*c"]), "aXXbYY"));
    }
}
