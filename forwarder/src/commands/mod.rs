//! One module per subcommand of the `tern` binary; `main.rs` declares the command line and
//! dispatches. Each returns the process's exit code (0 success, 2 configuration error, 1
//! runtime failure).

pub(crate) mod check;
pub(crate) mod dcr;
pub(crate) mod doctor;
pub(crate) mod health;
pub(crate) mod load;
pub(crate) mod migrate;
pub(crate) mod parse;
pub(crate) mod run;
pub(crate) mod send_test;
pub(crate) mod transform;
