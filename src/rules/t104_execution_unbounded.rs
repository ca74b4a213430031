//! T104 execution-unbounded: max_execution_time = 0 for an FPM pool.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};
use crate::settings::Profile;
use crate::stack::Via;

crate::declare_rule!(
    "T104",
    "execution-unbounded",
    Warning,
    Safe,
    "effective max_execution_time = 0 for an FPM pool",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let value = if cx.settings.profile == Profile::Woocommerce {
        60
    } else {
        30
    };
    // One finding per place that sets it (a php.ini line may serve several pools).
    let mut groups: Vec<(
        Option<crate::finding::Place>,
        Vec<&crate::stack::Pool>,
        crate::stack::PhpSetting,
    )> = Vec::new();
    for pool in &stack.pools {
        let Some(met) = pool.php("max_execution_time") else {
            continue;
        };
        if util::php_seconds(&met) != Some(0) {
            continue;
        }
        let place = met.value.place();
        match groups
            .iter_mut()
            .find(|(p, _, _)| *p == place && place.is_some())
        {
            Some((_, pools, _)) => pools.push(pool),
            None => groups.push((place, vec![pool], met)),
        }
    }
    for (place, pools, met) in groups {
        let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
        let first = pools[0];
        let fix = place.and_then(|p| edit::ini_replace_value(stack, p, &value.to_string()));
        let via = if matches!(met.via, Via::PhpIni | Via::ScanDir) {
            ""
        } else {
            " (pool override)"
        };
        out.push(
            Finding::at(
                &RULE,
                place.unwrap_or(first.place),
                format!(
                    "max_execution_time is 0{via} for pool{} {} ({}): PHP never stops a runaway script itself, so a loop in a plugin burns a worker's CPU until php-fpm or nginx gives up",
                    if names.len() > 1 { "s" } else { "" },
                    names.join(", "),
                    util::php_origin(stack, first, &met)
                ),
            )
            .with_fix(fix.map(|e| Fix::safe(format!("set max_execution_time = {value}"), vec![e]))),
        );
    }
}
