//! Values of the types asyncdump's type model and enum decoding must handle,
//! in statics that tests/unit/test_types.c reads through this program's DWARF:
//!
//! - `CONST_SAMPLES`: constant values, readable from the ELF file itself
//!   (no process needed): None/Ok/Err, fieldless enums with explicit
//!   discriminants, niches in a bool and a NonZero, a direct tag, a 128-bit
//!   tag, enums whose other variant is uninhabited (without a tag), a union,
//!   an array, base types;
//! - `RUNTIME_SAMPLES`: values only a running process has, set in main:
//!   Some(Box), Some(Instant), Err(String), a `Box<dyn Shape>` and a
//!   `Pin<Box<dyn Future>>` holding the state machine of `parked_at_pending`,
//!   polled once so that it sits at its marked `.await`;
//! - two thread-locals, a generic fn, and C types and values linked in from
//!   tests/unit/csample.c (build.rs).
//!
//! It prints `READY <pid>` and, in the same write, what only the process can
//! tell (runtime addresses, the Instant it stored), then waits to be killed:
//!
//!   CONST_SAMPLES 0x<address>       RUNTIME_SAMPLES 0x<address>
//!   CONST_SAMPLES_SIZE <bytes>      RUNTIME_SAMPLES_SIZE <bytes>
//!   INSTANT <Debug of the Instant in RUNTIME_SAMPLES.some_instant>
//!   PARKED_ENV 0x<address of parked_at_pending's state machine>
//!   GENERIC_PROBE 0x<address of generic_probe::<Probe>>
//!   THREAD_POINTER 0x<fs_base of the main thread>
//!   CONST_TLS 0x<address>           LAZY_TLS 0x<address> (main thread's)
//!
//! Expected values in the test come from the `const`s and marker below.

// The statics' fields are read from outside, through the DWARF, never here.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::io::Write;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::ptr::{addr_of, addr_of_mut};
use std::task::{Context, Waker};
use std::time::Instant;

const BOXED_VALUE: u64 = 0xb0c5;
const OK_VALUE: u32 = 7;
const ERR_TEXT: &str = "boom";
const NONZERO_VALUE: u32 = 5;
const WIDE_SMALL_VALUE: u8 = 9;
const WIDE_HUGE_VALUE: u16 = 0x1234;
const ONLY_VALUE: u32 = 77;
const BITS_WORD: u32 = 0x3fc0_0000;
const WIDE_INT: u128 = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10;
const SIGNED_INT: i32 = -123456;
const LETTER: char = 'λ';
const SQUARE_SIDE: u64 = 12;
const PARKED_ARG: u64 = 41;
const CONST_TLS_VALUE: u64 = 0x7e57;
const LAZY_TLS_TEXT: &str = "lazy thread-local";

/// A fieldless enum with explicit discriminants (DW_TAG_enumeration_type).
#[repr(u16)]
pub enum Fieldless {
    Low = 3,
    Mid = 70,
    High = 500,
}

/// A fieldless enum with a negative discriminant.
#[repr(i8)]
pub enum SignedFieldless {
    Negative = -2,
    Positive = 5,
}

/// A niche in a bool: Set(false/true) is the dataful variant; Unset and
/// Unknown take bool's invalid values.
pub enum NicheInBool {
    Set(bool),
    Unset,
    Unknown,
}

/// A 128-bit tag with explicit discriminants beyond 64 bits.
#[repr(u128)]
pub enum Wide {
    Small(u8) = 1,
    Huge(u16) = 1 << 100,
}

/// No tag at all: the other variant cannot exist.
pub enum OnlyInhabited {
    Value(u32),
    Never(Infallible),
}

/// The same, with the uninhabited variant declared first.
pub enum NeverFirst {
    Never(Infallible),
    Value(u32),
}

#[repr(C)]
pub union Bits {
    word: u32,
    real: f32,
}

pub struct ConstSamples {
    none_box: Option<Box<u64>>,
    none_instant: Option<Instant>,
    ok: Result<u32, String>,
    err_empty: Result<u32, String>,
    fieldless: Fieldless,
    signed_fieldless: SignedFieldless,
    niche_set: NicheInBool,
    niche_unset: NicheInBool,
    niche_unknown: NicheInBool,
    nonzero_some: Option<NonZeroU32>,
    nonzero_none: Option<NonZeroU32>,
    wide_small: Wide,
    wide_huge: Wide,
    only: OnlyInhabited,
    never_first: NeverFirst,
    direct_some: Option<u32>,
    bits: Bits,
    array: [u16; 5],
    wide_int: u128,
    signed_int: i32,
    ratio: f64,
    flag: bool,
    letter: char,
}

#[no_mangle]
#[used]
pub static CONST_SAMPLES: ConstSamples = ConstSamples {
    none_box: None,
    none_instant: None,
    ok: Ok(OK_VALUE),
    err_empty: Err(String::new()),
    fieldless: Fieldless::Mid,
    signed_fieldless: SignedFieldless::Negative,
    niche_set: NicheInBool::Set(true),
    niche_unset: NicheInBool::Unset,
    niche_unknown: NicheInBool::Unknown,
    nonzero_some: NonZeroU32::new(NONZERO_VALUE),
    nonzero_none: None,
    wide_small: Wide::Small(WIDE_SMALL_VALUE),
    wide_huge: Wide::Huge(WIDE_HUGE_VALUE),
    only: OnlyInhabited::Value(ONLY_VALUE),
    never_first: NeverFirst::Value(ONLY_VALUE),
    direct_some: Some(OK_VALUE),
    bits: Bits { word: BITS_WORD },
    array: [1, 2, 3, 5, 8],
    wide_int: WIDE_INT,
    signed_int: SIGNED_INT,
    ratio: 0.25,
    flag: true,
    letter: LETTER,
};

pub trait Shape {
    fn area(&self) -> u64;
}

pub struct Square {
    side: u64,
}

impl Shape for Square {
    fn area(&self) -> u64 {
        self.side * self.side
    }
}

pub struct RuntimeSamples {
    some_box: Option<Box<u64>>,
    some_instant: Option<Instant>,
    err: Result<u32, String>,
    shape: Option<Box<dyn Shape>>,
    parked: Option<Pin<Box<dyn Future<Output = u64>>>>,
}

#[no_mangle]
#[used]
pub static mut RUNTIME_SAMPLES: RuntimeSamples = RuntimeSamples {
    some_box: None,
    some_instant: None,
    err: Ok(0),
    shape: None,
    parked: None,
};

thread_local! {
    static CONST_TLS: Cell<u64> = const { Cell::new(0) };
    static LAZY_TLS: RefCell<String> = RefCell::new(String::from(LAZY_TLS_TEXT));
}

/// The template parameter T of a function, found from a pc inside it.
pub struct Probe {
    weight: u32,
}

#[inline(never)]
fn generic_probe<T>(value: &T) -> usize {
    std::mem::size_of_val(value)
}

async fn parked_at_pending(arg: u64) -> u64 {
    let local = arg + 1;
    std::future::pending::<()>().await; // @mark parked_at_pending_awaits_pending
    arg + local
}

extern "C" {
    /// From tests/unit/csample.c: referenced so that the linker keeps it.
    static csample_values: u8;
}

fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: on x86_64 Linux, fs:0 holds the thread control block's own
    // address, the thread pointer; reading it has no side effects.
    unsafe { std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly)) };
    tp
}

fn fill_runtime_samples() -> usize {
    let mut parked: Pin<Box<dyn Future<Output = u64>>> = Box::pin(parked_at_pending(PARKED_ARG));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(parked.as_mut().poll(&mut cx).is_pending(), "parked_at_pending completed");
    let env = &*parked as *const dyn Future<Output = u64> as *const () as usize;
    // SAFETY: single-threaded; nothing else touches RUNTIME_SAMPLES.
    let samples = unsafe { &mut *addr_of_mut!(RUNTIME_SAMPLES) };
    samples.some_box = Some(Box::new(BOXED_VALUE));
    samples.some_instant = Some(Instant::now());
    samples.err = Err(String::from(ERR_TEXT));
    samples.shape = Some(Box::new(Square { side: SQUARE_SIDE }));
    samples.parked = Some(parked);
    env
}

fn main() {
    let env = fill_runtime_samples();
    CONST_TLS.with(|v| v.set(CONST_TLS_VALUE));
    let const_tls = CONST_TLS.with(|v| v as *const Cell<u64> as usize);
    let lazy_tls = LAZY_TLS.with(|v| v as *const RefCell<String> as usize);
    let probe: fn(&Probe) -> usize = generic_probe::<Probe>;
    black_box(probe(&Probe { weight: 1 }));
    let const_samples = addr_of!(CONST_SAMPLES) as usize;
    let runtime_samples = addr_of!(RUNTIME_SAMPLES) as usize;
    black_box(addr_of!(csample_values));
    // SAFETY: single-threaded; read only to print it.
    let instant = unsafe { (*addr_of!(RUNTIME_SAMPLES)).some_instant };
    let text = format!(
        "READY {pid}\n\
         CONST_SAMPLES {const_samples:#x}\n\
         RUNTIME_SAMPLES {runtime_samples:#x}\n\
         CONST_SAMPLES_SIZE {const_size}\n\
         RUNTIME_SAMPLES_SIZE {runtime_size}\n\
         INSTANT {instant:?}\n\
         PARKED_ENV {env:#x}\n\
         GENERIC_PROBE {probe:#x}\n\
         THREAD_POINTER {tp:#x}\n\
         CONST_TLS {const_tls:#x}\n\
         LAZY_TLS {lazy_tls:#x}\n",
        pid = std::process::id(),
        const_size = std::mem::size_of::<ConstSamples>(),
        runtime_size = std::mem::size_of::<RuntimeSamples>(),
        instant = instant.expect("some_instant is set"),
        probe = probe as usize,
        tp = thread_pointer(),
    );
    let mut stdout = std::io::stdout().lock();
    // One write, so that a reader that sees READY sees the rest too.
    stdout.write_all(text.as_bytes()).expect("writing READY");
    stdout.flush().expect("flushing READY");
    drop(stdout);
    loop {
        std::thread::park();
    }
}
