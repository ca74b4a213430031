//! php.ini and php-fpm pool parsers: never panic; every input prints back
//! byte-identical; error spans lie inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wpstack::syntax::ini;

fuzz_target!(|data: &[u8]| {
    for file in [ini::parse(data), ini::parse_fpm(data)] {
        assert_eq!(ini::print(&file, data), data, "print(parse(x)) != x");
        for e in &file.errors {
            assert!(e.span.start <= e.span.end && e.span.end <= data.len());
        }
        // Every derived view is total too.
        let _ = file.entries().count();
    }
});
