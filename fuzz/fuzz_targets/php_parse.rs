//! wp-config.php parser: never panics; every input prints back byte-identical.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wpstack::syntax::php;

fuzz_target!(|data: &[u8]| {
    let file = php::parse(data);
    assert_eq!(php::print(&file, data), data, "print(parse(x)) != x");
    for e in &file.errors {
        assert!(e.span.start <= e.span.end && e.span.end <= data.len());
    }
});
