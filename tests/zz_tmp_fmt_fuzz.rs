use proptest::prelude::*;
use resc::fmt::{format, without_spans};
use resc::source::FileId;
use resc::syntax::parse;

fn zoo() -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir("models").unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v.into_iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10000, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn fuzz(file in 0usize..1000, cuts in prop::collection::vec((0usize..100000, 0usize..12, 0usize..12), 1..4)) {
        let files = zoo();
        let mut text = files[file % files.len()].clone();
        for (at, len, what) in cuts {
            let chars: Vec<char> = text.chars().collect();
            let at = at % (chars.len() + 1);
            let end = (at + len).min(chars.len());
            let insert = ["", "-", "(", ")", ";", "\n", "# c\n", "[0]", " or x", "{", "}", "stage s:", "repeat 2 "][what];
            text = chars[..at].iter().collect::<String>() + insert + &chars[end..].iter().collect::<String>();
        }
        let Ok(original) = parse(FileId(0), &text) else { return Ok(()); };
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed); if n % 500 == 0 { eprintln!("parsed {n}"); }
        let formatted = format(&original, &text);
        let reparsed = parse(FileId(0), &formatted);
        prop_assert!(reparsed.is_ok(), "--- input\n{}\n--- output\n{}", text, formatted);
        let reparsed = reparsed.unwrap();
        prop_assert!(without_spans(&original) == without_spans(&reparsed), "--- input\n{}\n--- output\n{}", text, formatted);
        prop_assert_eq!(format(&reparsed, &formatted), formatted.clone(), "--- input\n{}", text);
    }
}
