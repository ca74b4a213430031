//! D505 nginx-error-log-off: `error_log off` is a file named "off"; a level above
//! `error` hides the lines that explain 502s.

use crate::finding::Finding;
use crate::rules::Context;

crate::declare_rule!(
    "D505",
    "nginx-error-log-off",
    Warning,
    No,
    "`error_log off` (writes a file named \"off\") or a level above error",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    for n in &cx.stack.nginx {
        for scope in &n.scopes {
            for d in scope.directives.iter().filter(|d| d.name == "error_log") {
                let file = d.arg(0).unwrap_or("");
                let level = d.arg(1).unwrap_or("error");
                if file == "off" {
                    out.push(Finding::at(
                        &RULE,
                        d.arg_place(0),
                        "`error_log off` does not turn logging off: nginx writes to a file named \"off\" in its prefix (e.g. /usr/share/nginx/off), where nobody looks for the `connect() failed` and `upstream timed out` lines that explain a 502 — use `error_log /var/log/nginx/error.log error;`",
                    ));
                } else if matches!(level, "crit" | "alert" | "emerg") {
                    out.push(Finding::at(
                        &RULE,
                        d.arg_place(1),
                        format!(
                            "error_log level `{level}` hides every `error` line — including `connect() … failed`, `upstream timed out` and `upstream sent too big header`, the lines that say why a request got 502/504"
                        ),
                    ));
                }
            }
        }
    }
}
