//! A small Rust program that test_types builds (Makefile.am, type model
//! tests) with three debuginfo levels: full (`-C debuginfo=2`, which
//! ad_debuginfo_open accepts: its type `debuglevel_sample::Point` is found),
//! limited (`debug = 1`) and line-tables-only, which have no types and must
//! be refused with advice on how to build.

struct Point {
    x: u64,
    y: u64,
}

fn main() {
    let p = std::hint::black_box(Point { x: 1, y: 2 });
    println!("{}", p.x + p.y);
}
