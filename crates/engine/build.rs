//! Compiles the small C helpers the engine needs where Rust has no equivalent: INCRBYFLOAT's
//! `long double` arithmetic (csrc/longdouble.c).

fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new().file("csrc/longdouble.c").warnings(true).extra_warnings(true).compile("kvasir_longdouble");
}
