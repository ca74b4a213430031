//! Rule docs (`rules/CODE-name.md`) are runnable: their *Bad* and *Good* sections hold
//! fenced files (```` ```nginx file=nginx.conf ````) that the test suite writes to a
//! temp dir, checks as a stack, and expects to fire (Bad) or not fire (Good).

/// One file of an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFile {
    pub path: String,
    pub content: String,
}

/// The files of a doc section (`Bad` or `Good`).
pub fn example_files(doc: &str, section: &str) -> Vec<ExampleFile> {
    let mut out = Vec::new();
    let mut in_section = false;
    let mut current: Option<(String, String)> = None;
    for line in doc.lines() {
        if current.is_none() {
            if let Some(h) = line.strip_prefix("## ") {
                in_section = h.trim() == section;
                continue;
            }
        }
        if !in_section {
            continue;
        }
        match &mut current {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    if let Some(path) = info
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("file="))
                    {
                        current = Some((path.to_string(), String::new()));
                    }
                }
            }
            Some((path, content)) => {
                if line.starts_with("```") {
                    out.push(ExampleFile {
                        path: path.clone(),
                        content: std::mem::take(content),
                    });
                    current = None;
                } else {
                    content.push_str(line);
                    content.push('\n');
                }
            }
        }
    }
    out
}

/// The doc's section headings, in order.
pub fn sections(doc: &str) -> Vec<&str> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::trim)
        .collect()
}

/// The required sections of every rule doc.
pub const REQUIRED_SECTIONS: &[&str] = &[
    "What it does",
    "Why it breaks sites",
    "Bad",
    "Good",
    "Fix safety",
    "References",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_files_of_a_section() {
        let doc = "# X\n## Bad\ntext\n```nginx file=a.conf\nx;\n```\n```ini file=b/c.ini\nk = v\n```\n## Good\n```nginx file=a.conf\ny;\n```\n";
        let bad = example_files(doc, "Bad");
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[1].path, "b/c.ini");
        assert_eq!(bad[1].content, "k = v\n");
        assert_eq!(example_files(doc, "Good")[0].content, "y;\n");
    }
}
