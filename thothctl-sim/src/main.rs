//! `thothctl-sim`: the stand-in for the vendor's `thothctl` (see README.md).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(thothctl_sim::run_from_env())
}
