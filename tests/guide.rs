//! The guide's code is the example's code: every Rust block of `docs/adding-a-live-view.md` must
//! appear, line for line, in `examples/live_view.rs`, which the test build compiles. A snippet
//! edited in one place and not the other fails here.

fn rust_blocks(markdown: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```rust") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => block.push(line),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_snippet_of_the_guide_is_in_the_compiled_example() {
    let guide = include_str!("../docs/adding-a-live-view.md");
    let example: Vec<&str> = include_str!("../examples/live_view.rs").lines().collect();
    let blocks = rust_blocks(guide);
    assert!(blocks.len() >= 6, "the guide has {} Rust blocks", blocks.len());
    for block in blocks {
        let found = example.windows(block.len()).any(|window| window == block.as_slice());
        assert!(found, "this block of the guide is not in examples/live_view.rs:\n{}", block.join("\n"));
    }
}
