//! nginx parser: never panics; every input prints back byte-identical; the leaves
//! tile the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wpstack::syntax::nginx;

fuzz_target!(|data: &[u8]| {
    let file = nginx::parse(data);
    assert_eq!(nginx::print(&file, data), data, "print(parse(x)) != x");
    let mut at = 0;
    for s in nginx::leaf_spans(&file) {
        assert_eq!(s.start, at, "leaves do not tile the input");
        at = s.end;
    }
    assert_eq!(at, data.len());
    for e in &file.errors {
        assert!(e.span.start <= e.span.end && e.span.end <= data.len());
    }
});
